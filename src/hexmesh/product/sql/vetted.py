"""What client SQL may name: port tables, the PostgreSQL catalog, and a few vetted functions.

An allow-list, because the engine underneath has far more than PostgreSQL: DuckDB's table
functions read files (``read_parquet``), name relations by a string (``query_table($1)``),
run serialized plans or list the engine's settings, views and registered sources
(``duckdb_settings()``, ``duckdb_views()``), and an unknown relation name that looks like a
file is read as one. Nothing of that is reachable from a client's statement:

- a relation is a port table, a CTE of the statement, or a catalog relation listed here;
- a table function is one of :data:`TABLE_FUNCTIONS` (they compute rows from their arguments);
- a scalar function that would show or change the server (:data:`SERVER_FUNCTIONS`) is refused.

Everything else is answered as PostgreSQL answers a name it does not know (42P01, 42883).
"""

from __future__ import annotations

from functools import cache

import duckdb
from sqlglot import exp

from hexmesh.pgwire import PgError, SqlState

__all__ = [
    "CATALOG_RELATIONS",
    "SERVER_FUNCTIONS",
    "TABLE_FUNCTIONS",
    "check_functions",
    "check_relation",
    "function_name",
    "table_function",
]

#: Table functions that compute rows from their arguments alone.
TABLE_FUNCTIONS = frozenset(
    {"generate_series", "range", "unnest", "json_each", "json_tree", "pg_timezone_names", "generate_subscripts"}
)

#: Catalog relations a client may read, by schema (pg_catalog ones also unqualified, as in PostgreSQL).
_PG_CATALOG = """pg_am pg_attrdef pg_attribute pg_class pg_collation pg_constraint pg_database pg_depend
pg_description pg_enum pg_index pg_indexes pg_namespace pg_proc pg_sequence pg_sequences pg_tables
pg_tablespace pg_type pg_views"""
_INFORMATION_SCHEMA = """character_sets check_constraints columns constraint_column_usage constraint_table_usage
key_column_usage referential_constraints schemata tables table_constraints views"""
CATALOG_RELATIONS: dict[str, frozenset[str]] = {
    "pg_catalog": frozenset(_PG_CATALOG.split()),
    "information_schema": frozenset(_INFORMATION_SCHEMA.split()),
}

#: Scalar functions that show the engine's settings, files or databases, or act on them.
SERVER_FUNCTIONS = frozenset(
    {
        "copy_database", "database_list", "database_size", "disable_checkpoint_on_shutdown",
        "disable_profile", "disable_profiling", "enable_checkpoint_on_shutdown", "enable_profile",
        "enable_profiling", "extension_versions", "force_checkpoint", "getvariable", "import_database",
        "json_deserialize_sql", "json_execute_serialized_sql", "json_serialize_sql", "parse_duckdb_log_message",
        "platform", "show_databases", "user_agent", "write_log",
        "current_connection_id", "current_query_id", "current_transaction_id",
    }
)  # fmt: skip

_VETTED_HINT = (
    "Port tables are read by name (schema.product__port); the table functions the SQL port offers are "
    + ", ".join(sorted(TABLE_FUNCTIONS))
    + "."
)


@cache
def _engine_table_functions() -> frozenset[str]:
    """Every table function (and table macro) DuckDB knows: none may be called unless vetted."""
    with duckdb.connect(":memory:") as con:
        rows = con.sql(
            "SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type IN ('table', 'table_macro')"
        ).fetchall()
    return frozenset(str(row[0]).lower() for row in rows)


@cache
def _engine_row_functions() -> frozenset[str]:
    """Every scalar or aggregate function (and macro) DuckDB knows: ``repeat`` and ``range`` are both."""
    with duckdb.connect(":memory:") as con:
        rows = con.sql(
            "SELECT DISTINCT function_name FROM duckdb_functions() "
            "WHERE function_type IN ('scalar', 'aggregate', 'macro')"
        ).fetchall()
    return frozenset(str(row[0]).lower() for row in rows)


@cache
def _engine_relations() -> frozenset[str]:
    """Names of the engine's own views (duckdb_settings, sqlite_master…): never a CTE's name."""
    with duckdb.connect(":memory:") as con:
        rows = con.sql("SELECT view_name FROM duckdb_views()").fetchall()
    return frozenset(str(row[0]).lower() for row in rows) | _engine_table_functions()


def function_name(node: exp.Func) -> str:
    """The name a function call has in SQL, lower-cased (``READ_CSV`` for sqlglot's ReadCSV)."""
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return str(node.sql_name()).lower()


def table_function(node: exp.Func) -> None:
    """Refuse a table function that is not vetted (42883, as PostgreSQL answers an unknown function)."""
    name = function_name(node)
    if name.startswith("exploding_"):  # sqlglot's name for set-returning generate_series & co
        name = name.removeprefix("exploding_")
    if name not in TABLE_FUNCTIONS:
        raise PgError("42883", f"function {name}() does not exist", hint=_VETTED_HINT)


def check_relation(schema: str | None, name: str, catalog: str | None) -> None:
    """Refuse a relation that is not a catalog relation clients may read (42P01)."""
    shown = ".".join(p for p in (catalog, schema, name) if p)
    if catalog:
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED, f"cross-database references are not implemented: {shown}")
    allowed = CATALOG_RELATIONS.get(schema or "pg_catalog", frozenset())
    if name not in allowed:
        raise PgError(SqlState.UNDEFINED_TABLE, f'relation "{shown}" does not exist')


def check_cte_name(name: str) -> None:
    """A CTE may not take the name of one of the engine's relations: a reference outside its scope would reach it."""
    if name.lower() in _engine_relations() or name.lower().startswith("hexmesh_"):
        raise PgError("42939", f'"{name}" is a reserved name on the hexmesh SQL port; name the CTE otherwise')


def check_functions(tree: exp.Expr) -> None:
    """Refuse calls of server functions, and of table functions anywhere (FROM, LATERAL, a scalar
    position); a scalar position calls the scalar function of a name that is both (``repeat('a', 3)``)."""
    table_functions = _engine_table_functions()
    for node in tree.find_all(exp.Func):
        name = function_name(node)
        if name in SERVER_FUNCTIONS:
            raise PgError("42501", f"permission denied for function {name}", hint="It shows or changes the server.")
        in_from = isinstance(node.parent, (exp.Table, exp.Lateral))
        if name in table_functions and (in_from or name not in _engine_row_functions()):
            table_function(node)
