"""A transformation's SQL (DuckDB's dialect) as Spark SQL, or an error naming what does not carry over.

sqlglot transpiles, but passes DuckDB-only syntax through unchanged (``read_parquet`` becomes
Spark's ``parquet.`path```, which would read any file), so the result is checked by allow-list:
one query; tables that are input ports or the query's own CTEs; functions sqlglot knows in both
dialects. Anything else is an error naming the construct and its line.
"""

from __future__ import annotations

from collections.abc import Collection

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError, UnsupportedError

from hexmesh.errors import TransformError
from hexmesh.infra.compute.engine import SqlText

__all__ = ["to_spark"]


def to_spark(sql: SqlText, inputs: Collection[str]) -> str:
    """``sql`` in Spark's dialect; raises :class:`TransformError` (``file:line``) for what Spark cannot run."""
    try:
        trees = [t for t in sqlglot.parse(sql.text, read="duckdb") if t is not None]
    except ParseError as exc:
        line = exc.errors[0].get("line") if exc.errors else None
        raise _error(sql, line, f"does not parse: {exc.errors[0].get('description') if exc.errors else exc}") from None
    if len(trees) != 1 or not isinstance(trees[0], exp.Query):
        raise _error(sql, None, "on the Spark engine a transformation is exactly one query (SELECT or WITH … SELECT)")
    tree = trees[0].transform(_portable)
    _check(sql, tree, {name.lower() for name in inputs})
    try:
        return tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as exc:
        raise _error(sql, None, f"uses what Spark SQL cannot express: {exc}") from None
    except SqlglotError as exc:  # pragma: no cover - sqlglot's other generator errors
        raise _error(sql, None, str(exc)) from None


def _portable(node: exp.Expr) -> exp.Expr:
    """DuckDB idioms with a Spark equivalent that sqlglot does not translate."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "timezone" and len(node.expressions) == 2:
        zone, value = node.expressions
        # timezone('UTC', ts) is ts's UTC wall time; Spark runs with the session time zone UTC.
        if isinstance(zone, exp.Literal) and zone.is_string and zone.this.upper() == "UTC":
            return exp.Cast(this=value, to=exp.DataType.build("TIMESTAMP_NTZ", dialect="spark"))
    if isinstance(node, exp.Div) and not isinstance(node.this, exp.Cast):
        # DuckDB's / always divides in DOUBLE; Spark divides decimals (60.0 is one) exactly, so
        # round(sum(x) / 60.0, 1) would come back as a decimal and differ in the last bit once stored.
        return exp.Div(this=exp.Cast(this=node.this, to=exp.DataType.build("DOUBLE")), expression=node.expression)
    return node


def _check(sql: SqlText, tree: exp.Expr, inputs: set[str]) -> None:
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        name = table.name.lower()
        if table.args.get("db") or table.args.get("catalog") or not name or name not in inputs | ctes:
            raise _error(
                sql,
                _line(table),
                f"reads {table.sql('duckdb')!r}, which is not an input port (inputs: {', '.join(sorted(inputs))}); "
                "on the Spark engine read data through input ports only",
            )
    for function in tree.find_all(exp.Anonymous):
        raise _error(
            sql,
            _line(function),
            f"function {function.name.upper()}() does not carry over from DuckDB to Spark SQL; rewrite it with "
            "functions both know, or run the product on the duckdb engine",
        )
    for node in tree.find_all(exp.UDTF):
        if not isinstance(node, exp.Unnest | exp.Explode):
            raise _error(sql, _line(node), f"table function {node.sql('duckdb')!r} cannot run on the Spark engine")


def _line(node: exp.Expr) -> int | None:
    meta = node.meta if hasattr(node, "meta") else {}
    line = meta.get("line") if isinstance(meta, dict) else None
    if line is None:
        for child in node.walk():
            found = child.meta.get("line") if isinstance(child.meta, dict) else None
            if found is not None:
                return int(found)
    return int(line) if line is not None else None


def _error(sql: SqlText, line: int | None, what: str) -> TransformError:
    where = f"{sql.file}:{line}" if line else sql.file
    return TransformError(f"{where}: {what}")
