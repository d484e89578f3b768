"""Reference backend for the pgwire tests: an in-memory DuckDB database shared by all sessions."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence

import duckdb
import pyarrow as pa

from hexmesh.pgwire import (
    CommandResult,
    Description,
    PgError,
    Result,
    RowsResult,
    SessionContext,
    SqlState,
)
from hexmesh.pgwire.types import Oid, array_oid

_ROWS = {"SELECT", "WITH", "VALUES", "TABLE", "FROM", "SHOW", "DESCRIBE", "EXPLAIN", "PRAGMA"}
_CAST = re.compile(r"\$(\d+)\s*::\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\([\d\s,]*\))?\s*(\[\])?")
_TYPES = {
    "int": Oid.INT4, "integer": Oid.INT4, "int4": Oid.INT4, "bigint": Oid.INT8, "int8": Oid.INT8,
    "smallint": Oid.INT2, "int2": Oid.INT2, "text": Oid.TEXT, "varchar": Oid.VARCHAR,
    "bool": Oid.BOOL, "boolean": Oid.BOOL, "float8": Oid.FLOAT8, "double": Oid.FLOAT8,
    "float4": Oid.FLOAT4, "real": Oid.FLOAT4, "numeric": Oid.NUMERIC, "decimal": Oid.NUMERIC,
    "date": Oid.DATE, "time": Oid.TIME, "timestamp": Oid.TIMESTAMP,
    "timestamptz": Oid.TIMESTAMPTZ, "uuid": Oid.UUID, "bytea": Oid.BYTEA, "blob": Oid.BYTEA,
    "json": Oid.JSON, "interval": Oid.INTERVAL,
}  # fmt: skip
# Answers for the introspection queries drivers send on connect (SQLAlchemy, psql).
_CANNED: dict[str, tuple[str, str]] = {
    "select pg_catalog.version()": ("version", "PostgreSQL 15.0 (hexmesh) on DuckDB"),
    "select version()": ("version", "PostgreSQL 15.0 (hexmesh) on DuckDB"),
    "show transaction isolation level": ("transaction_isolation", "read committed"),
    "show standard_conforming_strings": ("standard_conforming_strings", "on"),
    "show timezone": ("TimeZone", "UTC"),
}


def _annotate(schema: pa.Schema, duck_types: Sequence[object]) -> pa.Schema:
    """Tag columns DuckDB exports as plain strings (UUID, JSON) with their PostgreSQL OIDs."""
    oids = {"UUID": Oid.UUID, "JSON": Oid.JSON, "UUID[]": array_oid(Oid.UUID)}
    fields = []
    for field, duck_type in zip(schema, duck_types, strict=True):
        oid = oids.get(str(duck_type))
        fields.append(field.with_metadata({b"pg_oid": str(oid).encode()}) if oid else field)
    return pa.schema(fields)


def _keyword(sql: str) -> str:
    sql = re.sub(r"/\*.*?\*/|--[^\n]*", " ", sql, flags=re.DOTALL)
    match = re.match(r"\s*\(*\s*([A-Za-z]+)", sql)
    return match.group(1).upper() if match else ""


def _translate(exc: Exception) -> PgError:
    text = str(exc)
    if isinstance(exc, duckdb.InterruptException):
        return PgError(SqlState.QUERY_CANCELED, "canceling statement due to user request")
    if isinstance(exc, duckdb.CatalogException):
        return PgError(SqlState.UNDEFINED_TABLE, text)
    if isinstance(exc, duckdb.ParserException):
        return PgError(SqlState.SYNTAX_ERROR, text)
    if isinstance(exc, duckdb.ConversionException):
        return PgError(SqlState.INVALID_TEXT_REPRESENTATION, text)
    return PgError("42000", text)


class DuckSession:
    """One client's cursor on the shared database."""

    def __init__(self, root: duckdb.DuckDBPyConnection, ctx: SessionContext) -> None:
        self.con = root.cursor()
        self.con.execute("SET TimeZone = 'UTC'")
        self.ctx = ctx
        self._lock = threading.Lock()

    def _canned(self, sql: str) -> RowsResult | None:
        key = " ".join(sql.strip().rstrip(";").split()).lower()
        if key not in _CANNED:
            return None
        name, value = _CANNED[key]
        table = pa.table({name: pa.array([value])})
        return RowsResult(table.schema, table.to_batches())

    def describe(self, sql: str, param_types: Sequence[int]) -> Description:
        """Infer parameter types from $n::type casts and the schema from a LIMIT 0 run."""
        count = max((int(n) for n in re.findall(r"\$(\d+)", sql)), default=0)
        types = [param_types[i] if i < len(param_types) else 0 for i in range(count)]
        for num, name, arr in _CAST.findall(sql):
            oid = _TYPES.get(name.strip().lower(), Oid.TEXT)
            if not types[int(num) - 1]:
                types[int(num) - 1] = array_oid(oid) if arr else oid
        types = [t or Oid.TEXT for t in types]
        canned = self._canned(sql)
        if canned is not None:
            return Description(types, canned.schema)
        if _keyword(sql) not in _ROWS:
            return Description(types, None)
        probe = f"SELECT * FROM ({sql}) AS _probe LIMIT 0"
        try:
            rel = self.con.sql(probe, params=[None] * count or None)
            schema = _annotate(rel.to_arrow_table().schema, rel.types)
        except duckdb.Error as exc:
            raise _translate(exc) from exc
        return Description(types, schema)

    def execute(self, sql: str, params: Sequence[object]) -> Result:
        """Run a statement; queries stream as an Arrow RecordBatchReader."""
        canned = self._canned(sql)
        if canned is not None:
            return canned
        keyword = _keyword(sql)
        if keyword == "SET" and "statement_timeout" in sql.lower():
            # The statement-timeout hook: a session setting changes the server's deadline.
            value = re.findall(r"(\d+)", sql)
            self.ctx.statement_timeout = int(value[0]) / 1000 if value and int(value[0]) else None
            return CommandResult("SET")
        if keyword in ("SAVEPOINT", "RELEASE") or re.match(r"\s*ROLLBACK\s+TO\b", sql, re.I):
            # DuckDB has no savepoints; drivers use them around introspection only.
            return CommandResult(keyword if keyword != "ROLLBACK" else "ROLLBACK")
        if keyword == "NOTICE":
            self.ctx.notice("this is a deprecation notice", sqlstate=SqlState.DEPRECATED_FEATURE)
            return CommandResult("NOTICE")
        try:
            if keyword in _ROWS or re.search(r"\bRETURNING\b", sql, re.IGNORECASE):
                rel = self.con.sql(sql, params=list(params) or None)
                reader = rel.to_arrow_reader(4096)
                command = keyword if keyword in ("INSERT", "UPDATE", "DELETE") else "SELECT"
                return RowsResult(_annotate(reader.schema, rel.types), reader, command)
            cur = self.con.execute(sql, list(params) or None)
            rows = cur.fetchall() if cur.description else []
        except duckdb.Error as exc:
            raise _translate(exc) from exc
        count = rows[0][0] if rows and isinstance(rows[0][0], int) else 0
        tags = {
            "INSERT": f"INSERT 0 {count}",
            "UPDATE": f"UPDATE {count}",
            "DELETE": f"DELETE {count}",
        }
        words = {"START": "START TRANSACTION", "END": "COMMIT", "ABORT": "ROLLBACK"}
        return CommandResult(tags.get(keyword, words.get(keyword, keyword or "OK")))

    def cancel(self) -> None:
        """Interrupt the running DuckDB query."""
        self.con.interrupt()

    def close(self) -> None:
        """Close the cursor."""
        self.con.close()


class DuckBackend:
    """Factory of DuckSessions over one in-memory database."""

    def __init__(self) -> None:
        self.root = duckdb.connect(":memory:")
        self.root.execute("CREATE TABLE items AS SELECT range AS id, 'item ' || range AS name FROM range(100)")
        self.sessions: list[DuckSession] = []

    def __call__(self, ctx: SessionContext) -> DuckSession:
        session = DuckSession(self.root, ctx)
        self.sessions.append(session)
        return session
