"""PostgreSQL tables or queries as input ports, read incrementally by a cursor column.

One read is one REPEATABLE READ, read-only transaction: it takes the cursor's current maximum,
then streams the rows above the last position up to that maximum with ``COPY ... TO STDOUT``
(CSV, parsed by Arrow with the columns' PostgreSQL types). The new maximum becomes the
position, stored in the run record only when the run succeeds; a read that fails (the
database goes away mid-read) raises :class:`InputError` and the position stays where it was.

The cursor must only grow for rows that are new or changed (a sequence id, or an
``updated_at`` set on every write). Rows committed later with a smaller cursor value than one
already read are not seen: use a cursor set at commit time, or read with ``window: all``.

A position never moves backwards. The position remembers which server, database and table it was
read from (:func:`source_identity`); a source whose cursor maximum fell below the position (rows
deleted, a smaller copy restored) or that is another server, database or table under the same
URL (a swapped environment variable, a dropped and re-created table) is an :class:`InputError`
that says so, and nothing is read: reading on would re-publish rows or skip them silently.
``--full-refresh`` starts over from the source as it is now.
"""

from __future__ import annotations

import io
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pcsv
from psycopg import sql

from hexmesh.errors import InputError, redacted_url
from hexmesh.product.sources import expand_vars
from hexmesh.spec import PostgresSourceSpec

__all__ = ["arrow_table", "read_postgres", "refuse_swapped", "source_identity"]

# PostgreSQL type OIDs → Arrow; anything else (json, uuid, arrays, ...) arrives as text.
_TYPES: dict[int, pa.DataType] = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int64(),
    23: pa.int64(),
    700: pa.float64(),
    701: pa.float64(),
    1082: pa.date32(),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="UTC"),
    1083: pa.time64("us"),
    17: pa.binary(),
}


def _arrow_type(column: psycopg.Column) -> pa.DataType:
    if column.type_code == 1700:  # numeric: exact when the column declares precision
        if column.precision:
            return pa.decimal128(column.precision, column.scale or 0)
        return pa.float64()
    return _TYPES.get(column.type_code, pa.string())


def relation(spec: PostgresSourceSpec) -> sql.Composable:
    """The table or query a PostgreSQL source reads, as SQL."""
    if spec.query is not None:
        return sql.SQL("({})").format(sql.SQL(spec.query.strip().rstrip(";")))
    assert spec.table is not None
    return sql.Identifier(*spec.table.split("."))


def read_postgres(
    port: str, spec: PostgresSourceSpec, previous: dict[str, Any] | None, *, incremental: bool
) -> tuple[pa.Table, dict[str, Any]]:
    """Rows above the last cursor position (all rows when not incremental), and the new position."""
    url = expand_vars(spec.postgres, "postgres URL")
    try:
        return _read(port, url, spec, previous if incremental else None)
    except psycopg.Error as exc:
        raise InputError(
            f"input port {port!r}: reading PostgreSQL {redacted_url(url)} ({spec.path}) failed: "
            f"{type(exc).__name__}: {' '.join(str(exc).split())}; nothing was consumed and the position did "
            "not move, so the next run retries from the same point"
        ) from None


def _read(
    port: str, url: str, spec: PostgresSourceSpec, previous: dict[str, Any] | None
) -> tuple[pa.Table, dict[str, Any]]:
    relation_sql = relation(spec)
    position: dict[str, Any] = {"source": "postgres", "relation": spec.path}
    with psycopg.connect(url, connect_timeout=10, application_name=f"hexmesh:{port}", autocommit=True) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("set local timezone = 'UTC'; set local datestyle = 'ISO, YMD'")
            where: sql.Composable = sql.SQL("true")
            if spec.cursor is not None:
                position["identity"] = source_identity(cur, spec)
                if previous is not None:
                    refuse_swapped(port, spec, previous.get("identity"), position["identity"])
                where, position = _window(port, spec, cur, relation_sql, previous, position)
            table = arrow_table(conn, relation_sql, where)
    position["rows"] = table.num_rows
    return table, position


def arrow_table(conn: psycopg.Connection[Any], relation: sql.Composable, where: sql.Composable) -> pa.Table:
    """``select * from relation where ...`` streamed with COPY and typed from the columns' PostgreSQL types.

    The session should use ``timezone = 'UTC'`` and ``datestyle = 'ISO, YMD'``.
    """
    with conn.cursor() as cur:
        cur.execute(sql.SQL("select * from {} as src limit 0").format(relation))
        columns = list(cur.description or [])
        query = sql.SQL("copy (select * from {} as src where {}) to stdout (format csv, header)").format(
            relation, where
        )
        buffer = io.BytesIO()
        with cur.copy(query) as copy:
            for chunk in copy:
                buffer.write(chunk)
    types = {c.name: _arrow_type(c) for c in columns}
    if buffer.tell() == 0:
        return pa.schema(list(types.items())).empty_table()
    buffer.seek(0)
    return pcsv.read_csv(
        buffer,
        convert_options=pcsv.ConvertOptions(
            column_types=types,
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    )


def source_identity(cur: psycopg.Cursor[Any], spec: PostgresSourceSpec) -> dict[str, str | None]:
    """Which server (its system identifier), database and table (their OIDs) a read is reading.

    A restored backup keeps the system identifier but not the table's OID; another cluster has
    another system identifier. ``pg_control_system()`` is open to every role by default; where it
    was revoked the server is identified by the database alone.
    """
    cur.execute(
        "select case when has_function_privilege('pg_control_system()', 'execute') "
        "then (select system_identifier::text from pg_control_system()) end, "
        "(select oid::text from pg_database where datname = current_database()), "
        "case when %s::text is null then null else to_regclass(%s::text)::oid::text end",
        (spec.table, spec.table),
    )
    row = cur.fetchone()
    assert row is not None
    return {"system": row[0], "database": row[1], "table": row[2]}


_IDENTITY = (("system", "server (system identifier)"), ("database", "database OID"), ("table", "table OID"))


def refuse_swapped(port: str, spec: PostgresSourceSpec, before: Any, now: dict[str, str | None]) -> None:
    """An :class:`InputError` when the source is not the server, database or table last read."""
    remedy = (
        "deploy a new major to start over from a snapshot of the table as it is now"
        if spec.mode == "cdc"
        else "run with --full-refresh to start over from the source as it is now"
    )
    if not isinstance(before, dict):
        return  # a position stored before identities were recorded: nothing to compare
    changed = [
        f"{what} {before.get(key)} is now {now.get(key)}"
        for key, what in _IDENTITY
        if before.get(key) is not None and now.get(key) is not None and before.get(key) != now.get(key)
    ]
    if changed:
        raise InputError(
            f"input port {port!r}: the source {spec.path} is not the one the last position was read from "
            f"({'; '.join(changed)}): it was swapped (another server or database behind the same URL, or a "
            "table dropped and re-created), so the position means nothing there and nothing was read or "
            f"re-published. Point the URL back at the source, or {remedy}"
        )


def _window(
    port: str,
    spec: PostgresSourceSpec,
    cur: psycopg.Cursor[Any],
    relation: sql.Composable,
    previous: dict[str, Any] | None,
    position: dict[str, Any],
) -> tuple[sql.Composable, dict[str, Any]]:
    """The cursor range (last position, current maximum] and the position it leads to.

    The position never moves backwards: a maximum below it is refused (see the module's doc).
    """
    assert spec.cursor is not None
    column = sql.Identifier(spec.cursor)
    cur.execute(
        sql.SQL("select max({c})::text, pg_typeof(max({c}))::text from {r} as src").format(c=column, r=relation)
    )
    row = cur.fetchone()
    assert row is not None
    high, kind = row
    typed = sql.SQL(kind)  # pg_typeof's own output: a type name
    last = (previous or {}).get("cursor")
    went_back = False
    if last is not None and high is not None:
        cur.execute(sql.SQL("select {}::{} < {}::{}").format(sql.Literal(high), typed, sql.Literal(last), typed))
        answer = cur.fetchone()
        went_back = bool(answer and answer[0])
    if last is not None and (high is None or went_back):
        found = "no rows at all" if high is None else f"its highest {spec.cursor} is {high}"
        raise InputError(
            f"input port {port!r}: the source {spec.path} shrank: {found}, but the last run read up to "
            f"{spec.cursor} = {last}. Rows were deleted or a smaller copy is behind the URL; a cursor position "
            "never moves backwards, so nothing was read or re-published. Restore the source, or run with "
            "--full-refresh to start over from the source as it is now"
        )
    position = {**position, "cursor_column": spec.cursor, "cursor": last if high is None else high, "cursor_type": kind}
    parts: list[sql.Composable] = []
    if last is not None:
        parts.append(sql.SQL("{} > {}::{}").format(column, sql.Literal(last), typed))
    if high is None:
        parts.append(sql.SQL("false"))
    else:
        parts.append(sql.SQL("{} <= {}::{}").format(column, sql.Literal(high), typed))
    return sql.SQL(" and ").join(parts), position
