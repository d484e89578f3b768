"""Row filters from the principal's attributes, as an Arrow expression and as DuckDB SQL text.

A filter is an OR of clauses, each an AND of ``field IN (values)``. A clause that refers to an
attribute the principal lacks matches nothing: a missing attribute never widens access.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from hexmesh.governance.identity import Principal

__all__ = ["Condition", "RowFilter", "quote_identifier", "quote_literal", "resolve_rows"]

Scalar = str | int | bool


@dataclass(frozen=True)
class Condition:
    """``field IN values``; no values matches no row."""

    field: str
    values: tuple[Scalar, ...]


@dataclass(frozen=True)
class RowFilter:
    """OR of AND-clauses; no clause at all matches no row."""

    clauses: tuple[tuple[Condition, ...], ...]

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(c.field for clause in self.clauses for c in clause)

    def expression(self, schema: pa.Schema | None = None) -> pc.Expression:
        """The filter as a pyarrow compute expression (values cast to the column types of ``schema``)."""
        out: pc.Expression = pc.scalar(False)
        for clause in self.clauses:
            part: pc.Expression = pc.scalar(True)
            for cond in clause:
                if not cond.values:
                    part = pc.scalar(False)
                    continue
                values = pa.array(list(cond.values))
                if schema is not None:
                    values = values.cast(schema.field(cond.field).type)
                part = part & pc.field(cond.field).isin(values)
            out = out | part
        return out

    def sql(self, qualifier: str | None = None) -> str:
        """The filter as a SQL boolean (DuckDB/PostgreSQL quoting), safe to AND into a WHERE clause."""
        prefix = f"{quote_identifier(qualifier)}." if qualifier else ""
        clauses = []
        for clause in self.clauses:
            parts = [
                f"{prefix}{quote_identifier(c.field)} IN ({', '.join(quote_literal(v) for v in c.values)})"
                if c.values
                else "FALSE"
                for c in clause
            ]
            clauses.append("(" + " AND ".join(parts or ["TRUE"]) + ")")
        return "(" + " OR ".join(clauses) + ")" if clauses else "FALSE"

    def apply(self, table: pa.Table) -> pa.Table:
        missing = sorted(self.fields - set(table.column_names))
        if missing:
            # Filtering on a column the table lacks would silently return everything or nothing.
            raise ValueError(f"row filter refers to column(s) {', '.join(missing)} not in the table")
        return table.filter(self.expression(table.schema))


def quote_identifier(name: str) -> str:
    """A SQL identifier in double quotes."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: Scalar) -> str:
    """A SQL literal: TRUE/FALSE, a number, or a single-quoted string."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''") + "'"


def resolve_rows(rules: Sequence[Mapping[str, Scalar | list[Scalar]]], principal: Principal) -> RowFilter:
    """Bind ``principal.<attribute>`` references and build the OR of the rules' row conditions."""
    clauses = []
    for rule in rules:
        conditions = []
        for field, raw in sorted(rule.items()):
            items = raw if isinstance(raw, list) else [raw]
            values: list[Scalar] = []
            for item in items:
                if isinstance(item, str) and item.startswith("principal."):
                    attribute = principal.attributes.get(item.removeprefix("principal."))
                    if attribute is not None:
                        values.append(attribute)
                else:
                    values.append(item)
            conditions.append(Condition(field, tuple(values)))
        clauses.append(tuple(conditions))
    return RowFilter(tuple(clauses))
