"""PostgreSQL's json aggregates: ``json_agg``, ``jsonb_agg``, ``json_object_agg``, ``jsonb_object_agg``.

sqlglot writes ``json_agg`` as ``JSON_ARRAYAGG``, which the engine does not have, and the engine's
own ``json_group_array`` prints ``[1,2]`` where PostgreSQL prints ``[1, 2]``. The port collects
the values as a list (``array_agg``, which keeps ``ORDER BY``, ``DISTINCT``, ``FILTER`` and NULLs)
and prints it as PostgreSQL does: ``[1, 2]``, ``{ "k" : v }`` for json_object_agg, ``{"k": v}``
with keys by length then bytes for jsonb_object_agg. A numeric element keeps its scale (12.30);
a double or a timestamp prints as the engine's JSON does (docs/sql.md).
"""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from hexmesh.pgwire import PG_OID_METADATA_KEY, Oid

__all__ = ["MACROS", "json_aggregate", "json_typed"]

# A key is its text as a JSON string; PostgreSQL refuses a NULL one (22023).
_KEY = "CASE WHEN e.k IS NULL THEN error('field name must not be null') ELSE to_json(e.k::VARCHAR)::VARCHAR END"
_ELEMENT = "coalesce(CASE WHEN typeof({e}) LIKE 'DECIMAL%' THEN {e}::VARCHAR ELSE to_json({e})::VARCHAR END, 'null')"
MACROS = [
    "hexmesh_json_array(l) AS "
    f"('[' || array_to_string(list_transform(l, lambda e: {_ELEMENT.format(e='e')}), ', ') || ']')::JSON",
    "hexmesh_json_object(l) AS ('{ ' || array_to_string(list_transform(l, lambda e: "
    f"{_KEY} || ' : ' || {_ELEMENT.format(e='e.v')}), ', ') || ' }}')::JSON",
    "hexmesh_jsonb_object(l) AS ('{' || array_to_string(list_transform(list_sort(list_transform(l, lambda e: "
    "{'n': octet_length(encode(e.k::VARCHAR)), 'b': encode(e.k::VARCHAR), 'k': e.k::VARCHAR, 'v': e.v})), "
    f"lambda e: {_KEY} || ': ' || {_ELEMENT.format(e='e.v')}), ', ') || '}}')::JSON",
]


def json_aggregate(node: exp.Expr) -> exp.Expr:
    """A json aggregate call as the list it collects, printed by the macro for its kind."""
    if isinstance(node, exp.Filter) and (printed := json_aggregate(node.this)) is not node.this:
        # FILTER selects the values collected: it goes on the list's aggregate, inside the macro.
        values = printed.expressions[0]
        return _printed(printed.name, exp.Filter(this=values, expression=node.args["expression"]))
    if isinstance(node, exp.JSONArrayAgg):
        return _printed("hexmesh_json_array", exp.ArrayAgg(this=node.this))
    if isinstance(node, exp.Anonymous) and node.name.lower() == "jsonb_agg" and len(node.expressions) == 1:
        return _printed("hexmesh_json_array", exp.ArrayAgg(this=node.expressions[0]))
    if isinstance(node, exp.JSONObjectAgg) and len(node.expressions) == 2:
        return _printed("hexmesh_json_object", _pairs(*node.expressions))
    if isinstance(node, exp.JSONBObjectAgg):
        return _printed("hexmesh_jsonb_object", _pairs(node.this, node.expression))
    return node


def _printed(macro: str, values: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=macro, expressions=[values])


def _pairs(key: exp.Expr, value: exp.Expr) -> exp.Expr:
    """``array_agg({'k': key, 'v': value})``, ordered as the call's ``ORDER BY`` (which follows its last argument)."""
    order = value if isinstance(value, exp.Order) else None
    pair = exp.Struct(
        expressions=[
            exp.PropertyEQ(this=exp.to_identifier("k"), expression=key),
            exp.PropertyEQ(this=exp.to_identifier("v"), expression=order.this if order else value),
        ]
    )
    return exp.ArrayAgg(this=exp.Order(this=pair, expressions=order.expressions) if order else pair)


def json_typed(schema: pa.Schema, tree: exp.Expr) -> pa.Schema:
    """``schema`` with the result columns that are a json aggregate announced as json (114) or jsonb
    (3802): the engine's JSON leaves as text."""
    if not isinstance(tree, exp.Select) or len(tree.expressions) != len(schema):
        return schema
    fields = []
    for field, projection in zip(schema, tree.expressions, strict=True):
        inner = projection.unalias()
        inner = inner.this if isinstance(inner, exp.Filter) else inner
        oid = _kind(inner)
        fields.append(field if oid is None else field.with_metadata({**(field.metadata or {}), **oid}))
    return pa.schema(fields, metadata=schema.metadata)


def _kind(node: exp.Expr) -> dict[bytes, bytes] | None:
    if isinstance(node, (exp.JSONArrayAgg, exp.JSONObjectAgg)):
        return {PG_OID_METADATA_KEY: str(Oid.JSON).encode()}
    if isinstance(node, exp.JSONBObjectAgg) or (isinstance(node, exp.Anonymous) and node.name.lower() == "jsonb_agg"):
        return {PG_OID_METADATA_KEY: str(Oid.JSONB).encode()}
    return None
