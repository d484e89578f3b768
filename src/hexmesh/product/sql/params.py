"""Parameter types of a prepared statement, for clients that ask before binding (asyncpg).

DuckDB reports parameters as UNKNOWN, so types come from what the SQL says: an explicit cast
(``$1::int``), a comparison with a port-table column (``amount > $1``) or LIMIT/OFFSET; text
otherwise, which PostgreSQL also assumes for an untyped literal.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
from sqlglot import exp

from hexmesh.pgwire import Oid, array_oid, arrow_to_pg

__all__ = ["parameter_types"]

_CASTS = {
    "INT": Oid.INT4, "SMALLINT": Oid.INT2, "BIGINT": Oid.INT8, "TEXT": Oid.TEXT, "VARCHAR": Oid.VARCHAR,
    "BOOLEAN": Oid.BOOL, "DOUBLE": Oid.FLOAT8, "FLOAT": Oid.FLOAT4, "DECIMAL": Oid.NUMERIC,
    "DATE": Oid.DATE, "TIME": Oid.TIME, "TIMESTAMP": Oid.TIMESTAMP, "TIMESTAMPTZ": Oid.TIMESTAMPTZ,
    "UUID": Oid.UUID, "JSON": Oid.JSON, "JSONB": Oid.JSONB, "INTERVAL": Oid.INTERVAL,
    "VARBINARY": Oid.BYTEA, "BLOB": Oid.BYTEA,
}  # fmt: skip


def parameter_types(tree: exp.Expr, declared: Sequence[int], columns: pa.Schema) -> list[int]:
    """One OID per ``$n`` of the statement; declared (non-zero) types win."""
    numbers = [int(p.this.name) for p in tree.find_all(exp.Parameter) if p.this.name.isdigit()]
    count = max([*numbers, len(declared)], default=0)
    types = [declared[i] if i < len(declared) else 0 for i in range(count)]
    for param in tree.find_all(exp.Parameter):
        if not param.this.name.isdigit():
            continue
        index = int(param.this.name) - 1
        if types[index]:
            continue
        types[index] = _from_context(param, columns)
    return [t or Oid.TEXT for t in types]


def _from_context(param: exp.Parameter, columns: pa.Schema) -> int:
    parent = param.parent
    while isinstance(parent, exp.Paren):
        parent = parent.parent
    if isinstance(parent, exp.Any):
        # ``x = ANY($1)`` (pgcli's relation lists): an array of what it is compared with, text if unknown.
        compared = parent.parent
        other = compared.this if isinstance(compared, exp.Binary) and compared.expression is parent else None
        if isinstance(other, exp.Column) and other.name in columns.names:
            return array_oid(arrow_to_pg(columns.field(other.name)).oid)
        return array_oid(Oid.TEXT)
    if isinstance(parent, exp.Cast):
        return _CASTS.get(str(getattr(parent.to.this, "name", parent.to.this)).upper(), 0)
    if isinstance(parent, (exp.Limit, exp.Offset, exp.Fetch)):
        return Oid.INT8
    if isinstance(parent, exp.Binary):
        other = parent.expression if parent.this is param else parent.this
        if isinstance(other, exp.Column) and other.name in columns.names:
            return arrow_to_pg(columns.field(other.name)).oid
    if isinstance(parent, exp.In) and isinstance(parent.this, exp.Column) and parent.this.name in columns.names:
        return arrow_to_pg(columns.field(parent.this.name)).oid
    return 0
