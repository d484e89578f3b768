"""Statements the session answers itself: SET, SHOW, RESET, transactions; refusal of writes.

DuckDB never sees these, so a client cannot change DuckDB's settings, and the PostgreSQL
settings clients send on connect (DateStyle, extra_float_digits, application_name...) are
accepted and reported back by SHOW as PostgreSQL would.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

from hexmesh.pgwire import CommandResult, PgError, Result, RowsResult, SqlState
from hexmesh.product.sql.zones import canonical_zone

__all__ = ["SessionSettings", "classify", "run_command"]

WRITES = {
    "INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT", "CREATE", "DROP", "ALTER", "TRUNCATE",
    "GRANT", "REVOKE", "COMMENT", "VACUUM", "REINDEX", "CLUSTER", "LOCK", "REFRESH", "SECURITY",
    "IMPORT", "EXPORT", "CHECKPOINT", "CALL", "DO", "REASSIGN", "COPY",
}  # fmt: skip
# DuckDB statements that reach outside the database or its configuration.
ENGINE = {"ATTACH", "DETACH", "INSTALL", "LOAD", "PRAGMA", "USE", "FORCE", "UNINSTALL", "UPDATE_EXTENSIONS"}
QUERIES = {"SELECT", "WITH", "VALUES", "TABLE", "EXPLAIN"}
# What PostgreSQL does not know but a DuckDB user might try, and what to use instead.
_INSTEAD = {
    "DESCRIBE": r"PostgreSQL has no DESCRIBE: use \d <table> in psql, or query information_schema.columns.",
    "SUMMARIZE": "PostgreSQL has no SUMMARIZE: aggregate with count(*), min(), max() and avg().",
    "FROM": "Start the statement with SELECT.",
}
TRANSACTION = {
    "BEGIN": "BEGIN", "START": "START TRANSACTION", "COMMIT": "COMMIT", "END": "COMMIT",
    "ROLLBACK": "ROLLBACK", "ABORT": "ROLLBACK", "SAVEPOINT": "SAVEPOINT", "RELEASE": "RELEASE",
}  # fmt: skip
OTHER = {"DEALLOCATE": "DEALLOCATE", "DISCARD": "DISCARD ALL", "LISTEN": "LISTEN", "UNLISTEN": "UNLISTEN"}

# PostgreSQL settings a client may set; they change nothing in DuckDB but SHOW reports them.
DEFAULTS: dict[str, str] = {
    "application_name": "", "client_encoding": "UTF8", "datestyle": "ISO, MDY",
    "default_transaction_isolation": "read committed", "default_transaction_read_only": "on",
    "extra_float_digits": "1", "integer_datetimes": "on", "intervalstyle": "postgres",
    "is_superuser": "off", "lc_collate": "C", "lc_ctype": "C", "max_identifier_length": "63",
    "search_path": '"$user", public', "server_encoding": "UTF8", "standard_conforming_strings": "on",
    "timezone": "UTC", "transaction_isolation": "read committed", "transaction_read_only": "on",
    "statement_timeout": "0", "idle_in_transaction_session_timeout": "0", "lock_timeout": "0",
    "client_min_messages": "notice", "bytea_output": "hex", "jit": "off", "row_security": "on",
    "synchronous_commit": "on", "work_mem": "4MB", "geqo": "on", "plan_cache_mode": "auto",
    "default_transaction_deferrable": "off", "transaction_deferrable": "off",
    "idle_session_timeout": "0", "session_replication_role": "origin", "escape_string_warning": "on",
    "hexmesh.as_of": "", "hexmesh.purpose": "", "hexmesh.epsilon": "0.1",
}  # fmt: skip
_SET = re.compile(
    r"^SET\s+(?:SESSION\s+|LOCAL\s+)?(?P<name>TIME\s+ZONE|[\w.]+)\s*(?:=|\bTO\b)?\s*(?P<value>.*?)\s*$",
    re.IGNORECASE | re.DOTALL,
)


@dataclass
class SessionSettings:
    """PostgreSQL-visible settings of one session, plus its time pins."""

    values: dict[str, str] = field(default_factory=lambda: dict(DEFAULTS))
    as_of: datetime | None = None
    transaction_time: datetime | None = None
    in_transaction: bool = False
    server_version: str = "15.0 (hexmesh)"


def classify(sql: str) -> str:
    """Upper-cased first keyword, skipping comments and opening parentheses."""
    text = re.sub(r"^(\s|\(|--[^\n]*\n|/\*.*?\*/)+", "", sql, flags=re.DOTALL)
    match = re.match(r"[A-Za-z_]+", text)
    return match.group(0).upper() if match else ""


def read_only_error(keyword: str) -> PgError:
    return PgError(
        SqlState.READ_ONLY_TRANSACTION,
        f"cannot execute {keyword} in a read-only transaction",
        detail="hexmesh serves output ports read-only: their history is immutable.",
        hint="A product changes its data by running; see `hexmesh run`.",
    )


def engine_error(keyword: str) -> PgError:
    return PgError(
        "42501",
        f"{keyword} is not allowed on the hexmesh SQL port",
        detail="The SQL port's engine cannot attach databases, load extensions or read files.",
    )


def run_command(keyword: str, sql: str, settings: SessionSettings, parse_time: object) -> Result:
    """Answer a non-query statement; ``parse_time`` turns a SET hexmesh.as_of value into a time."""
    if keyword in WRITES:
        raise read_only_error(keyword)
    if keyword in ENGINE:
        raise engine_error(keyword)
    if keyword in TRANSACTION:
        if keyword in ("BEGIN", "START"):
            # The transaction's processing time is pinned by its first query.
            settings.transaction_time, settings.in_transaction = None, True
        elif keyword in ("COMMIT", "END", "ABORT") or (keyword == "ROLLBACK" and " TO " not in sql.upper()):
            settings.transaction_time, settings.in_transaction = None, False
        return CommandResult(TRANSACTION[keyword])
    if keyword in OTHER:
        if keyword == "DISCARD":
            settings.values = dict(DEFAULTS)
            settings.as_of = None
        return CommandResult(OTHER[keyword])
    if keyword == "SET":
        return _set(sql, settings, parse_time)
    if keyword == "RESET":
        name = sql.split(None, 1)[1].strip().lower() if len(sql.split()) > 1 else "all"
        if name == "all":
            settings.values, settings.as_of = dict(DEFAULTS), None
            return CommandResult("RESET", {r: settings.values[n] for n, r in _REPORTED.items()})
        name = "timezone" if name == "time zone" else name
        _known(name)
        settings.values[name] = DEFAULTS[name]
        settings.as_of = None if name == "hexmesh.as_of" else settings.as_of
        return CommandResult("RESET", _reported(name, settings))
    if keyword == "SHOW":
        return _show(sql, settings)
    word = sql.split(None, 1)[0] if sql.split() else ""
    raise PgError(SqlState.SYNTAX_ERROR, f'syntax error at or near "{word}"', hint=_INSTEAD.get(keyword))


def _known(name: str) -> None:
    if name not in DEFAULTS:
        raise PgError("42704", f'unrecognized configuration parameter "{name}"')


def _set(sql: str, settings: SessionSettings, parse_time: object) -> Result:
    upper = " ".join(sql.upper().split())
    if upper.startswith(("SET TRANSACTION", "SET SESSION CHARACTERISTICS", "SET SESSION AUTHORIZATION")):
        return CommandResult("SET")
    match = _SET.match(sql)
    if match is None:
        raise PgError(SqlState.SYNTAX_ERROR, f"cannot parse SET statement: {sql}")
    name = " ".join(match.group("name").lower().split())
    name = "timezone" if name == "time zone" else name
    value = match.group("value").strip().strip("'\"")
    if name not in DEFAULTS:
        raise PgError(
            "42704" if "." in name or name.isidentifier() else SqlState.SYNTAX_ERROR,
            f'unrecognized configuration parameter "{name}"',
            hint="The SQL port accepts PostgreSQL client settings and hexmesh.as_of; "
            "engine settings cannot be changed.",
        )
    if name == "hexmesh.epsilon":
        _epsilon(value)
    if name == "timezone":
        value = canonical_zone(value)
    if name == "hexmesh.as_of":
        default = value.lower() in ("", "default", "now", "latest")
        settings.as_of = None if default else parse_time(value)  # type: ignore[operator]
    settings.values[name] = "" if value.lower() == "default" and name == "hexmesh.as_of" else value
    return CommandResult("SET", _reported(name, settings))


#: Settings PostgreSQL reports to the client when they change (GUC_REPORT), by their reported names.
_REPORTED = {
    "timezone": "TimeZone", "datestyle": "DateStyle", "intervalstyle": "IntervalStyle",
    "application_name": "application_name", "client_encoding": "client_encoding",
}  # fmt: skip


def _reported(name: str, settings: SessionSettings) -> dict[str, str]:
    reported = _REPORTED.get(name)
    return {} if reported is None else {reported: settings.values[name]}


def _epsilon(value: str) -> None:
    try:
        epsilon = float(value)
    except ValueError:
        epsilon = math.nan
    if not (math.isfinite(epsilon) and epsilon > 0):
        raise PgError(
            "22023",
            f'invalid value for parameter "hexmesh.epsilon": "{value}"',
            hint="The privacy budget spent per aggregate is a positive number, e.g. 0.1.",
        )


def _show(sql: str, settings: SessionSettings) -> Result:
    name = " ".join(sql.split()[1:]).lower().strip('"')
    aliases = {"transaction isolation level": "transaction_isolation", "time zone": "timezone"}
    name = aliases.get(name, name)
    if name == "all":
        items = sorted(settings.values.items())
        table = pa.table({"name": [k for k, _ in items], "setting": [v for _, v in items]})
        return RowsResult(table.schema, table.to_batches(), "SHOW")
    if name == "server_version":
        value = settings.server_version
    else:
        _known(name)
        value = settings.values[name]
    # The column is named as PostgreSQL spells the setting (SHOW timezone answers a TimeZone column).
    table = pa.table({_REPORTED.get(name, name): pa.array([value], pa.string())})
    return RowsResult(table.schema, table.to_batches(), "SHOW")
