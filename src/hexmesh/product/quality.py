"""The quality gate: declared checks run on a run's candidate output before anything is published."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pyarrow as pa

from hexmesh.infra.compute import LockedDuckDB
from hexmesh.infra.compute.duckdb import failure
from hexmesh.spec import OutputPort, QualityCheck, parse_duration

__all__ = ["CheckResult", "run_checks"]

_EXAMPLES = 5


@dataclass
class CheckResult:
    """The outcome of one check on one port, with example rows when it failed."""

    port: str
    check: str
    kind: str
    passed: bool
    detail: str
    examples: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def run_checks(port: OutputPort, table: pa.Table, engine: LockedDuckDB, now: datetime) -> list[CheckResult]:
    """Run the port's declared checks, plus primary-key checks, on ``table``."""
    checks = list(port.quality)
    if port.primary_key:
        checks.insert(0, QualityCheck.model_validate({"name": "primaryKey", "unique": port.primary_key}))
    con = engine.connect({port.name: table})
    try:
        return [_run(con, port, check, now) for check in checks]
    finally:
        con.close()


def _run(con: duckdb.DuckDBPyConnection, port: OutputPort, check: QualityCheck, now: datetime) -> CheckResult:
    try:
        passed, detail, examples = _evaluate(con, port, check, now)
    except duckdb.Error as exc:
        passed, detail, examples = False, f"the check could not run: {failure(exc)}", []
    return CheckResult(port.name, check.label, check.kind, passed, detail, examples)


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    """Up to five offending rows; only fetched for a failing check (a second scan costs)."""
    # Through Arrow: DuckDB's Python conversion of time zones would need pytz.
    rows = con.sql(sql).to_arrow_table().to_pylist()
    return [{k: _plain(v) for k, v in row.items()} for row in rows]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.sql(sql).to_arrow_table()[0][0].as_py())


def _literal(value: str | int | float | bool) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return "'" + text.replace("'", "''") + "'"


def _evaluate(
    con: duckdb.DuckDBPyConnection, port: OutputPort, check: QualityCheck, now: datetime
) -> tuple[bool, str, list[dict[str, Any]]]:
    table = _q(port.name)
    if check.not_null is not None:
        where = " or ".join(f"{_q(c)} is null" for c in check.not_null)
        bad = _count(con, f"select count(*) from {table} where {where}")
        return (
            bad == 0,
            f"{bad} row(s) with nulls",
            _rows(con, f"select * from {table} where {where} limit {_EXAMPLES}") if bad else [],
        )
    if check.unique is not None:
        cols = ", ".join(_q(c) for c in check.unique)
        dupes = f"select {cols}, count(*) as occurrences from {table} group by {cols} having count(*) > 1"
        bad = _count(con, f"select count(*) from ({dupes})")
        return (
            bad == 0,
            f"{bad} duplicated value(s)",
            _rows(con, f"{dupes} order by occurrences desc limit {_EXAMPLES}") if bad else [],
        )
    if check.accepted_values is not None:
        spec = check.accepted_values
        accepted = ", ".join(_literal(v) for v in spec.values)
        where = f"{_q(spec.field)} is not null and cast({_q(spec.field)} as varchar) not in ({accepted})"
        bad = _count(con, f"select count(*) from {table} where {where}")
        return (
            bad == 0,
            f"{bad} row(s) outside {spec.values}",
            _rows(con, f"select * from {table} where {where} limit {_EXAMPLES}") if bad else [],
        )
    if check.range is not None:
        rng = check.range
        terms = []
        if rng.min is not None:
            terms.append(f"{_q(rng.field)} < {rng.min!r}")
        if rng.max is not None:
            terms.append(f"{_q(rng.field)} > {rng.max!r}")
        where = " or ".join(terms) or "false"
        bad = _count(con, f"select count(*) from {table} where {where}")
        return (
            bad == 0,
            f"{bad} row(s) outside [{rng.min}, {rng.max}]",
            _rows(con, f"select * from {table} where {where} limit {_EXAMPLES}") if bad else [],
        )
    if check.row_count is not None:
        rows = _count(con, f"select count(*) from {table}")
        bounds = check.row_count
        ok = (bounds.min is None or rows >= bounds.min) and (bounds.max is None or rows <= bounds.max)
        return ok, f"{rows} row(s), expected between {bounds.min} and {bounds.max}", []
    if check.freshness is not None:
        column = check.freshness.field or port.event_time or ""
        value = con.sql(f"select max({_q(column)}) as newest from {table}").to_arrow_table()[0][0].as_py()
        limit = now - parse_duration(check.freshness.max_age)
        if value is None:
            return False, f"no {column} values, so no freshness", []
        moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day, tzinfo=UTC)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return (
            moment >= limit,
            f"newest {column} is {moment.isoformat()}, must be after {limit.isoformat()}",
            [],
        )
    assert check.sql is not None
    result = con.sql(check.sql).to_arrow_table()
    if result.shape != (1, 1) or not pa.types.is_boolean(result.schema[0].type):
        return False, f"the SQL check must return exactly one true/false value, not {result.shape[0]} row(s)", []
    value = result[0][0].as_py()
    return value is True, f"query returned {value}", []
