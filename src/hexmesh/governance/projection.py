"""A read plan as SQL for DuckDB: one expression per visible column and the row filter.

The SQL port wraps each port in ``SELECT <select> FROM <port> WHERE <where>`` for the principal,
so every user query (joins, aggregates, ORDER BY, information_schema) only ever sees the masked
relation. Redaction and generalization are plain SQL; pseudonyms and tokens call two Arrow UDFs
the SQL port registers from :func:`pseudonymize_udf` / :func:`tokenize_udf`, so values are
identical to :func:`~hexmesh.governance.enforcement.apply_plan` on every port.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from hexmesh.governance.exceptions import PolicyError
from hexmesh.governance.pseudonym import derive_key, pseudonymize, tokenize
from hexmesh.governance.read_plan import ColumnAction, ReadPlan
from hexmesh.governance.rowfilter import quote_identifier, quote_literal

__all__ = ["PSEUDONYMIZE_UDF", "TOKENIZE_UDF", "SqlProjection", "pseudonymize_udf", "sql_projection", "tokenize_udf"]

PSEUDONYMIZE_UDF = "hexmesh_pseudonymize"
TOKENIZE_UDF = "hexmesh_tokenize"


@dataclass(frozen=True)
class SqlProjection:
    """``SELECT {', '.join(select)} FROM port WHERE {where}``; ``where`` None means every row."""

    select: list[str]
    where: str | None

    def query(self, relation: str) -> str:
        """The principal's view of ``relation`` (an already-quoted table name) as one SELECT."""
        body = ", ".join(self.select) if self.select else "NULL AS _no_visible_column WHERE FALSE"
        where = f" WHERE {self.where}" if self.where and self.select else ""
        return f"SELECT {body} FROM {relation}{where}"


def _expression(name: str, action: ColumnAction, kind: pa.DataType) -> str:
    column = quote_identifier(name)
    if action.kind == "keep":
        return column
    if action.kind == "redact":
        return f"CASE WHEN FALSE THEN {column} END"  # NULL, of the column's own type
    if action.kind in ("pseudonymize", "tokenize"):
        udf = PSEUDONYMIZE_UDF if action.kind == "pseudonymize" else TOKENIZE_UDF
        return f"{udf}(CAST({column} AS VARCHAR), {quote_literal(action.scope or '')})"
    how = action.rule.generalize if action.rule is not None else None
    if how is None:
        raise PolicyError(f"{name}: a generalize action without parameters")
    if how.bands is not None:
        if not float(how.bands).is_integer():
            raise PolicyError(f"{name}: fractional bands ({how.bands}) have no SQL form; use whole-number bands")
        width = int(how.bands)
        low = f"CAST(floor(CAST({column} AS DOUBLE) / {width}) * {width} AS BIGINT)"
        return f"CAST({low} AS VARCHAR) || '-' || CAST({low} + {width - 1} AS VARCHAR)"
    if how.truncate is not None:
        if not pa.types.is_date(kind):
            # DuckDB truncates TIMESTAMPTZ in the session time zone, Arrow in UTC: keep one truth.
            raise PolicyError(f"{name}: only date columns truncate in SQL; {kind} needs the Arrow path")
        return f"CAST(date_trunc('{how.truncate}', {column}) AS DATE)"
    if how.round is not None:
        return f"round({column}, {how.round})"
    return f"substr({column}, 1, {how.prefix})"


def sql_projection(plan: ReadPlan, schema: pa.Schema) -> SqlProjection:
    """The plan as SQL over a relation with ``schema``; refuses plans that do not allow rows."""
    if not plan.decision.allowed or plan.variant != "rows":
        raise PolicyError(f"{plan.decision.principal} may not read rows of {plan.decision.resource}")
    select = [
        f"{_expression(name, action, schema.field(name).type)} AS {quote_identifier(name)}"
        for name, action in plan.columns.items()
        if name in schema.names
    ]
    conditions = [plan.row_filter.sql()] if plan.row_filter is not None else []
    conditions += [f"{quote_identifier(name)} >= {minimum}" for name, minimum in plan.min_group.items()]
    return SqlProjection(select, " AND ".join(conditions) if conditions else None)


def pseudonymize_udf(secret: bytes) -> Callable[[pa.Array, pa.Array], pa.Array]:
    """The Arrow UDF behind ``hexmesh_pseudonymize(value, scope)`` (register with type='arrow')."""

    def udf(values: pa.Array, scopes: pa.Array) -> pa.Array:
        scope = _one_scope(scopes)
        return pseudonymize(values, derive_key(secret, "pseudonymize", scope, 32))

    return udf


def tokenize_udf(secret: bytes) -> Callable[[pa.Array, pa.Array], pa.Array]:
    """The Arrow UDF behind ``hexmesh_tokenize(value, scope)`` (register with type='arrow')."""

    def udf(values: pa.Array, scopes: pa.Array) -> pa.Array:
        return tokenize(values, derive_key(secret, "tokenize", _one_scope(scopes), 64))

    return udf


def _one_scope(scopes: pa.Array) -> str:
    distinct = [s for s in scopes.unique().to_pylist() if s is not None]
    if len(distinct) != 1:
        raise PolicyError("a pseudonym UDF call needs one constant scope")
    return str(distinct[0])
