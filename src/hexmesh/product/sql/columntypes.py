"""The PostgreSQL types of result columns that are a port table's own column: ``varchar(n)``.

The engine keeps every string as VARCHAR without a length, so a string column would leave as
``text`` (OID 25). The catalog describes it as PostgreSQL would (``varchar``, 1043, and
``varchar(n)`` with typmod n + 4 for a field with a ``maxLength``: pgcatalog.py), and PostgreSQL
announces a column it reads unchanged with that very type and typmod, through derived tables
and CTEs too. pgjdbc's ``ResultSetMetaData`` (``getColumnTypeName``, ``getPrecision``) must agree
with ``DatabaseMetaData.getColumns``, so such columns are announced the same way; an expression
of a column (``upper(name)``, ``name || 'x'``) is ``text`` in PostgreSQL and stays so. Likewise a
computed numeric (``d * 2``, ``sum(d)``) has no typmod in PostgreSQL, where the engine gives it one.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
from sqlglot import exp

from hexmesh.pgwire import PG_OID_METADATA_KEY, PG_TYPMOD_METADATA_KEY, Oid, PgError
from hexmesh.product.sql.catalog import PortTable

__all__ = ["check_comparisons", "column_typed"]

Lookup = Callable[[str | None, str], PortTable | None]
_DEPTH = 8  # derived tables followed, at most
_UNCONSTRAINED = {PG_TYPMOD_METADATA_KEY: b"-1"}
# array_agg of a varchar column is varchar[] in PostgreSQL (the engine's list of strings leaves as text[]).
_VARCHAR_ARRAY = {PG_OID_METADATA_KEY: b"1015", PG_TYPMOD_METADATA_KEY: b"-1"}


def column_typed(schema: pa.Schema, tree: exp.Expr, lookup: Lookup) -> pa.Schema:
    """``schema`` with the string columns read unchanged from a port table announced as varchar(n),
    their array_agg as varchar[], and computed numerics without a typmod."""
    if not isinstance(tree, exp.Select):
        return schema
    ctes = {cte.alias_or_name.lower(): cte.this for cte in tree.find_all(exp.CTE)}
    resolver = _Resolver(lookup, ctes)
    projections = tree.expressions
    star = any(_is_star(p) for p in projections)
    if not star and len(projections) != len(schema):
        return schema
    fields = []
    for i, field in enumerate(schema):
        kind = None
        inner = exp.column(field.name) if star else projections[i].unalias()
        if _is_string(field) and not (field.metadata or {}).get(PG_OID_METADATA_KEY):
            if isinstance(inner, exp.Column) and not isinstance(inner.this, exp.Star):
                kind = resolver.column(inner, tree, 0)
        elif _is_strings(field) and isinstance(column := _aggregated(inner), exp.Column):
            kind = _VARCHAR_ARRAY if resolver.column(column, tree, 0) else None
        elif pa.types.is_decimal(field.type) and not isinstance(inner, (exp.Column, exp.Cast)):
            kind = _UNCONSTRAINED  # a computed numeric has no precision and scale of its own in PostgreSQL
        fields.append(field if kind is None else field.with_metadata({**(field.metadata or {}), **kind}))
    return pa.schema(fields, metadata=schema.metadata)


#: Comparisons PostgreSQL has no operator for between a string column and a number.
_COMPARISONS = {exp.EQ: "=", exp.NEQ: "<>", exp.LT: "<", exp.LTE: "<=", exp.GT: ">", exp.GTE: ">="}


def check_comparisons(tree: exp.Expr, lookup: Lookup) -> None:
    """Refuse a port table's string column compared with a number, as PostgreSQL does (42883).

    The engine would cast the column to a number instead and fail on the first value that is not
    one (``invalid input syntax for type integer: "c2"``), or answer when every value happens to be.
    """
    ctes = {cte.alias_or_name.lower(): cte.this for cte in tree.find_all(exp.CTE)}
    resolver = _Resolver(lookup, ctes)
    for kind, operator in _COMPARISONS.items():
        for node in tree.find_all(kind):
            for column, other in ((node.left, node.right), (node.right, node.left)):
                number = _number_type(other)
                select = column.parent_select if isinstance(column, exp.Column) else None
                if number is None or not isinstance(column, exp.Column) or not isinstance(select, exp.Select):
                    continue
                if resolver.column(column, select, 0) is not None:
                    left, right = (
                        ("character varying", number) if column is node.left else (number, "character varying")
                    )
                    raise PgError(
                        "42883",
                        f"operator does not exist: {left} {operator} {right}",
                        hint="No operator matches the given name and argument types. "
                        "You might need to add explicit type casts.",
                    )


def _number_type(node: exp.Expr) -> str | None:
    """PostgreSQL's type of a numeric literal (``1``: integer, ``1.5``: numeric), else None."""
    literal = node.this if isinstance(node, exp.Neg) else node
    if not isinstance(literal, exp.Literal) or literal.is_string:
        return None
    text = str(literal.this)
    if not text.isdigit():
        return "numeric"
    return "integer" if int(text) < 2**31 else "bigint" if int(text) < 2**63 else "numeric"


def _is_string(field: pa.Field) -> bool:
    return bool(pa.types.is_string(field.type) or pa.types.is_large_string(field.type))


def _is_strings(field: pa.Field) -> bool:
    return bool(pa.types.is_list(field.type) and pa.types.is_string(field.type.value_type))


def _aggregated(node: exp.Expr) -> exp.Expr | None:
    """What ``array_agg(...)`` collects (through FILTER, DISTINCT and ORDER BY), or None for another expression."""
    node = node.this if isinstance(node, exp.Filter) else node
    if not isinstance(node, exp.ArrayAgg):
        return None
    collected: exp.Expr = node.this
    collected = collected.this if isinstance(collected, exp.Order) else collected
    if isinstance(collected, exp.Distinct) and len(collected.expressions) == 1:
        collected = collected.expressions[0]
    return collected


def _is_star(projection: exp.Expr) -> bool:
    return isinstance(projection, exp.Star) or (
        isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
    )


class _Resolver:
    """Follows a column to the port table column it reads, through FROM items, derived tables and CTEs."""

    def __init__(self, lookup: Lookup, ctes: dict[str, exp.Expr]) -> None:
        self.lookup = lookup
        self.ctes = ctes

    def column(self, column: exp.Column, select: exp.Select, depth: int) -> dict[bytes, bytes] | None:
        if depth > _DEPTH:
            return None
        qualifier = column.table.lower()
        found = [
            kind
            for alias, item in _from_items(select)
            if not qualifier or alias == qualifier
            for kind in [self._in_item(item, column.name, depth)]
            if kind is not False
        ]
        # One FROM item has the column (else PostgreSQL would call it ambiguous): announce its type.
        return found[0] if len(found) == 1 and isinstance(found[0], dict) else None

    def _in_item(self, item: exp.Expr, name: str, depth: int) -> dict[bytes, bytes] | bool | None:
        """The column's type in one FROM item; None: it has the column, of no varchar type; False: it has none."""
        if isinstance(item, exp.Subquery):
            return self._in_query(item.this, name, depth)
        if not isinstance(item, exp.Table) or not isinstance(item.this, exp.Identifier):
            return None  # a table function, VALUES...: it may have the column, of its own type
        if not item.db and item.name.lower() in self.ctes:
            return self._in_query(self.ctes[item.name.lower()], name, depth)
        table = self.lookup(item.db or None, item.name)
        if table is None:
            return None
        if name not in table.arrow_schema.names:
            return False
        field = table.arrow_schema.field(name)
        if not _is_string(field) or (field.metadata or {}).get(PG_OID_METADATA_KEY):
            return None
        declared = next((p for p in table.port.properties if p.name == name), None)
        options = declared.logical_type_options if declared is not None else None
        length = options.max_length if options is not None else None
        typmod = -1 if length is None else length + 4
        return {PG_OID_METADATA_KEY: str(Oid.VARCHAR).encode(), PG_TYPMOD_METADATA_KEY: str(typmod).encode()}

    def _in_query(self, query: exp.Expr, name: str, depth: int) -> dict[bytes, bytes] | bool | None:
        if not isinstance(query, exp.Select):
            return None
        for projection in query.expressions:
            if _is_star(projection):
                return self.column(exp.column(name), query, depth + 1)
            if projection.alias_or_name == name:
                inner = projection.unalias()
                return self.column(inner, query, depth + 1) if isinstance(inner, exp.Column) else None
        return False


def _from_items(select: exp.Select) -> list[tuple[str, exp.Expr]]:
    """The FROM items of ``select`` (joins too), each with the name its columns are qualified by."""
    items: list[exp.Expr] = []
    first = select.args.get("from_") or select.args.get("from")
    if isinstance(first, exp.From):
        items.append(first.this)
    items += [join.this for join in select.args.get("joins") or []]
    return [(item.alias_or_name.lower(), item) for item in items]
