"""Parsing client SQL (PostgreSQL dialect) and rewriting it for DuckDB with sqlglot.

Port tables are replaced by the Arrow sources the session registered for this statement, so
the data a query reads is always the snapshot the policy was shown. Two per-table time-travel
forms are understood: ``FROM t FOR SYSTEM_TIME AS OF '<time>'`` and
``FROM hexmesh.as_of('<schema.table>', '<time>')``. A few PostgreSQL-only constructs that
catalog queries use are turned into DuckDB's equivalents by :mod:`.pgdialect`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from hexmesh.pgwire import PgError, SqlState
from hexmesh.product.sql import vetted
from hexmesh.product.sql.catalog import PortTable
from hexmesh.product.sql.fixedzone import rewrite_fixed_zone
from hexmesh.product.sql.interrupt import Reading
from hexmesh.product.sql.pgcatalog import SHIM_SCHEMA, SHIMS, shim_name
from hexmesh.product.sql.pgdialect import name_columns, to_duckdb
from hexmesh.product.sql.policy import TableRewrite
from hexmesh.product.sql.sqlstate import syntax_error

__all__ = ["TableUse", "apply", "parse", "table_uses"]

Lookup = Callable[[str | None, str], PortTable | None]


@dataclass
class TableUse:
    """One reference to a port table inside a statement."""

    node: exp.Table
    table: PortTable
    as_of: exp.Expr | None  # a per-table time, else the statement's


def parse(sql: str) -> exp.Expr:
    """The statement's syntax tree; raises 42601 with sqlglot's message."""
    try:
        tree = sqlglot.parse_one(sql, read=Reading)
    except SqlglotError as exc:
        raise syntax_error(exc, sql) from None
    if tree is None:
        raise PgError(SqlState.SYNTAX_ERROR, "syntax error: empty statement")
    return tree


def table_uses(tree: exp.Expr, lookup: Lookup) -> list[TableUse]:
    """Every reference to a port table (CTE names shadow unqualified port tables).

    Anything else the statement names must be a catalog relation or a vetted table function
    (:mod:`.vetted`); otherwise PgError, as PostgreSQL answers a name it does not know.
    """
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for cte in ctes:
        vetted.check_cte_name(cte)
    vetted.check_functions(tree)
    uses: list[TableUse] = []
    for node in list(tree.find_all(exp.Table)):
        function = node.this
        if isinstance(function, exp.Anonymous) and node.db.lower() == "hexmesh":
            uses.append(_as_of_function(node, function, lookup))
            continue
        if isinstance(function, exp.Func):
            vetted.table_function(function)
            continue
        if not isinstance(function, exp.Identifier):
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED, f"unsupported FROM item: {node.sql(dialect='postgres')}")
        name, schema, catalog = node.name.lower(), node.db.lower() or None, node.catalog.lower() or None
        if schema is None and catalog is None and name in ctes:
            continue
        if catalog is None and (schema or "pg_catalog", name) in SHIMS:
            node.set("this", exp.to_identifier(shim_name(schema or "pg_catalog", name)))
            node.set("db", exp.to_identifier(SHIM_SCHEMA))
            node.set("catalog", None)
            if not node.alias:
                node.set("alias", exp.TableAlias(this=exp.to_identifier(name)))
            continue
        table = lookup(schema, name) if catalog is None else None
        if table is None:
            vetted.check_relation(schema, name, catalog)
            if schema is not None and not node.alias:
                # Columns written schema.table.column lose their schema (pgdialect), so the
                # table must answer to its bare name.
                node.set("alias", exp.TableAlias(this=exp.to_identifier(name)))
            continue
        version = node.args.get("version")
        as_of = version.expression if isinstance(version, exp.Version) else None
        uses.append(TableUse(node, table, _time(as_of)))
    return uses


def _as_of_function(node: exp.Table, function: exp.Anonymous, lookup: Lookup) -> TableUse:
    args = function.expressions
    if function.name.lower() != "as_of" or len(args) != 2 or not isinstance(args[0], exp.Literal):
        raise PgError(
            SqlState.SYNTAX_ERROR,
            f"unknown table function hexmesh.{function.name}",
            hint="use hexmesh.as_of('<schema>.<table>', '<timestamp>')",
        )
    parts = args[0].this.lower().split(".")
    table = lookup(parts[0] if len(parts) == 2 else None, parts[-1])
    if table is None:
        raise PgError(SqlState.UNDEFINED_TABLE, f'relation "{args[0].this}" does not exist')
    return TableUse(node, table, _time(args[1]))


def _time(expression: exp.Expr | None) -> exp.Expr | None:
    """A per-table processing time: an expression of its own, never a query."""
    if expression is not None and expression.find(exp.Query, exp.Subquery, exp.Table, exp.Column) is not None:
        raise PgError(
            SqlState.FEATURE_NOT_SUPPORTED,
            "AS OF takes a time, not a query or a column",
            hint="Give a timestamp, e.g. AS OF '2026-11-24 10:00:00+00' or AS OF now() - interval '1 day'.",
        )
    return expression


def apply(
    tree: exp.Expr,
    uses: list[TableUse],
    names: Mapping[int, str],
    rewrites: Mapping[str, TableRewrite],
    zone: str = "UTC",
) -> str:
    """DuckDB SQL with each use replaced by its registered source, and policy rewrites applied.

    ``zone`` is the session's canonical TimeZone: in a fixed-offset zone, local days and hours of
    ``timestamptz`` columns become integer arithmetic, in other zones their truncation to an hour or
    less where the zone allows it (:mod:`.fixedzone`).
    """
    for i, use in enumerate(uses):
        alias = use.node.alias or use.table.name
        rewrite = rewrites.get(use.table.qualified)
        source: exp.Expr
        if rewrite is None:
            source = exp.Table(this=exp.to_identifier(names[i]), alias=exp.TableAlias(this=exp.to_identifier(alias)))
        else:
            source = exp.Subquery(
                this=_restricted(use.table, names[i], rewrite),
                alias=exp.TableAlias(this=exp.to_identifier(alias)),
            )
        use.node.replace(source)
    if uses:
        name_columns(tree)  # named as PostgreSQL names date_trunc(…) before it becomes arithmetic
        # (after the sources are in place: naming a subquery copies it)
        # What a policy computes, or serves from rows of its own, has the policy's types.
        redefined = {name for rewrite in rewrites.values() for name in rewrite.transform}
        for use in uses:
            if getattr(rewrites.get(use.table.qualified), "source", None) is not None:
                redefined.update(use.table.arrow_schema.names)
        rewrite_fixed_zone(tree, [use.table for use in uses], redefined, zone)
    return to_duckdb(tree)


def _restricted(table: PortTable, source: str, rewrite: TableRewrite) -> exp.Select:
    columns: list[exp.Expr] = []
    for field in table.arrow_schema:
        if field.name in rewrite.hide:
            continue
        expression = rewrite.transform.get(field.name)
        if expression is None:
            columns.append(exp.column(field.name, quoted=True))
        else:
            parsed = sqlglot.parse_one(expression, read="duckdb")
            columns.append(exp.alias_(parsed, field.name, quoted=True))
    select = exp.select(*columns).from_(source)
    if rewrite.row_filter:
        select = select.where(sqlglot.parse_one(rewrite.row_filter, read="duckdb"))
    return select
