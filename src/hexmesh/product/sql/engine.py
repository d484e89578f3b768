"""One locked-down DuckDB database per SQL session, laid out like the port catalog.

Every port table exists in DuckDB as an *empty* table of the right schema, so that catalog
queries (pg_catalog, information_schema, psql's \\d) describe it; its rows are never stored
there. A query reads rows only through the Arrow source the session registers for it, on a
cursor of its own, after the policy step.
"""

from __future__ import annotations

import duckdb

from hexmesh.infra.compute.duckdb import LOCKDOWN
from hexmesh.pgwire import PgError, SqlState
from hexmesh.product.sql.catalog import PortTable
from hexmesh.product.sql.pgcatalog import install_pg_catalog

__all__ = ["open_engine", "translate"]


def open_engine(tables: list[PortTable], *, memory_limit: str | None, threads: int | None) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory database with the port tables' shapes and the PostgreSQL catalog shims."""
    config: dict[str, str | bool | int | float | list[str]] = {
        k: v for k, v in LOCKDOWN.items() if k != "lock_configuration"
    }
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = threads
    con = duckdb.connect(":memory:", config=config)
    con.execute("SET TimeZone = 'UTC'")
    for schema in sorted({t.schema for t in tables}):
        con.execute(f'CREATE SCHEMA "{schema}"')
    for table in tables:
        con.register("hexmesh_shape", table.arrow_schema.empty_table())
        con.execute(f'CREATE TABLE "{table.schema}"."{table.name}" AS SELECT * FROM hexmesh_shape')
        con.unregister("hexmesh_shape")
        description = table.port.description or table.product.spec.description
        # Comments feed pg_description: psql's \dt+ and \d+, DBeaver and Metabase show them.
        con.execute(
            f'COMMENT ON TABLE "{table.schema}"."{table.name}" IS {_literal(f"{table.address}: {description}")}'
        )
        for field in table.port.properties:
            if field.description:
                target = f'"{table.schema}"."{table.name}"."{field.name}"'
                con.execute(f"COMMENT ON COLUMN {target} IS {_literal(field.description)}")
            if field.required:
                # Shown as NOT NULL by \d, information_schema and SQLAlchemy's reflection.
                con.execute(f'ALTER TABLE "{table.schema}"."{table.name}" ALTER COLUMN "{field.name}" SET NOT NULL')
    install_pg_catalog(con)
    # From here on SQL cannot change any setting, including the ones above.
    con.execute("SET lock_configuration = true")
    return con


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def translate(exc: duckdb.Error) -> PgError:
    """A DuckDB error as the PostgreSQL error a client expects."""
    text = str(exc).split("\n\nLINE", 1)[0].strip()
    if isinstance(exc, duckdb.InterruptException):
        return PgError(SqlState.QUERY_CANCELED, "canceling statement due to user request")
    if isinstance(exc, duckdb.OutOfMemoryException):
        return PgError(
            "53200",
            f"out of memory: {text}",
            hint="The query needs more memory than one SQL session may use; aggregate or filter more.",
        )
    if isinstance(exc, duckdb.PermissionException):
        return PgError(
            "42501",
            f"permission denied: {text}",
            detail="The SQL port's engine cannot read or write files or load extensions.",
        )
    if isinstance(exc, duckdb.CatalogException):
        return PgError(SqlState.UNDEFINED_TABLE, text)
    if isinstance(exc, duckdb.ParserException):
        return PgError(SqlState.SYNTAX_ERROR, text)
    if isinstance(exc, duckdb.ConversionException):
        return PgError(SqlState.INVALID_TEXT_REPRESENTATION, text)
    if isinstance(exc, duckdb.BinderException):
        return PgError("42703" if "column" in text.lower() else "42883", text)
    if isinstance(exc, duckdb.InvalidInputException) and "configuration" in text:
        return PgError("42501", f"permission denied: {text}")
    return PgError("XX000" if isinstance(exc, duckdb.InternalException) else "22000", text)
