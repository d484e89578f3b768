"""Differentially private answers to SQL: what an aggregate-only principal may ask.

Such a principal never sees rows. A query is answered only when it is one ``SELECT`` over one
port table, without ``WHERE``, ``GROUP BY`` or joins, whose every output is one of:

==========================================  ==============================================
``count(*)``                                a noisy count
``dp_sum(col, low, high)``                  a noisy sum, values clamped to [low, high]
``dp_mean(col, low, high)``                 a noisy mean
``dp_quantile(col, q, low, high)``          a noisy quantile (0 < q < 1)
==========================================  ==============================================

Bounds are public (written in the query, never taken from the data). Each output costs
``SET hexmesh.epsilon`` (default 0.1) of the principal's budget on that port.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from sqlglot import exp

from hexmesh.governance import DpQuery

__all__ = ["DpStatement", "DpSyntaxError", "parse_dp"]

_USAGE = (
    "aggregate-only access answers one SELECT over one table with count(*), dp_sum(col, low, high), "
    "dp_mean(col, low, high) or dp_quantile(col, q, low, high), without WHERE, GROUP BY or joins"
)


class DpSyntaxError(ValueError):
    """The statement is not a differentially private aggregate this port can answer."""


@dataclass(frozen=True)
class DpStatement:
    """The aggregates of one statement, in output order."""

    names: tuple[str, ...]
    queries: tuple[DpQuery, ...]

    def schema(self) -> pa.Schema:
        pairs = zip(self.names, self.queries, strict=True)
        return pa.schema([pa.field(n, pa.int64() if q.kind == "count" else pa.float64()) for n, q in pairs])


def _number(node: exp.Expr) -> float:
    negative = isinstance(node, exp.Neg)
    inner = node.this if negative else node
    if not isinstance(inner, exp.Literal) or inner.is_string:
        raise DpSyntaxError(f"{node.sql()} must be a number written in the query (bounds are public)")
    value = float(inner.this)
    return -value if negative else value


def _column(node: exp.Expr) -> str:
    if not isinstance(node, exp.Column):
        raise DpSyntaxError(f"{node.sql()} must be a column name")
    return node.name


def _query(node: exp.Expr, epsilon: float) -> DpQuery:
    if isinstance(node, exp.Count) and isinstance(node.this, exp.Star):
        return DpQuery("count", epsilon)
    if isinstance(node, exp.Anonymous):
        name, args = node.name.lower(), node.expressions
        if name in ("dp_sum", "dp_mean") and len(args) == 3:
            bounds = (_number(args[1]), _number(args[2]))
            return DpQuery("sum" if name == "dp_sum" else "mean", epsilon, _column(args[0]), bounds)
        if name == "dp_quantile" and len(args) == 4:
            bounds = (_number(args[2]), _number(args[3]))
            return DpQuery("quantile", epsilon, _column(args[0]), bounds, quantile=_number(args[1]))
    raise DpSyntaxError(f"{node.sql()} is not supported: {_USAGE}")


def parse_dp(statement: exp.Expr | None, epsilon: float) -> DpStatement:
    """The DP aggregates a statement asks for, or DpSyntaxError saying what is allowed."""
    if not isinstance(statement, exp.Select):
        raise DpSyntaxError(_USAGE)
    for clause in ("where", "group", "having", "joins", "with", "order", "limit", "offset", "distinct"):
        if statement.args.get(clause):
            raise DpSyntaxError(f"{clause.upper()} is not allowed: {_USAGE}")
    names: list[str] = []
    queries: list[DpQuery] = []
    for i, projection in enumerate(statement.expressions):
        node = projection.this if isinstance(projection, exp.Alias) else projection
        queries.append(_query(node, epsilon))
        default = node.name.lower() if isinstance(node, exp.Anonymous) else "count"
        names.append(projection.alias if isinstance(projection, exp.Alias) else default if i == 0 else f"{default}_{i}")
    if not queries:
        raise DpSyntaxError(_USAGE)
    return DpStatement(tuple(names), tuple(queries))
