"""The types PostgreSQL names in an error about a call, read from the client's statement.

PostgreSQL says which argument types it found no function or operator for (``function
nosuchfn(integer) does not exist``, ``operator does not exist: text + integer``). The engine
names no types for a function it does not know, and has one string type (``VARCHAR``) where
PostgreSQL tells ``text`` from ``character varying``. The statement shows most of them: a
literal's type, a cast's, a port table column's, a string function's ``text``. Where it does
not, callers keep what the engine says.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pyarrow as pa
from sqlglot import exp

from hexmesh.pgwire import PG_OID_METADATA_KEY, Oid, PgError, arrow_to_pg
from hexmesh.product.sql.catalog import PortTable
from hexmesh.product.sql.interrupt import CALLED_AS, EXTRA_ARGUMENTS

__all__ = [
    "FUNCTION_HINT",
    "OPERATOR_HINT",
    "Lookup",
    "check_arity",
    "column_types",
    "type_of",
]

FUNCTION_HINT = "No function matches the given name and argument types. You might need to add explicit type casts."
OPERATOR_HINT = "No operator matches the given name and argument types. You might need to add explicit type casts."

Lookup = Callable[[str | None, str], PortTable | None]

_OID_NAMES = {
    Oid.INT8: "bigint", Oid.INT4: "integer", Oid.INT2: "smallint", Oid.FLOAT8: "double precision",
    Oid.FLOAT4: "real", Oid.NUMERIC: "numeric", Oid.VARCHAR: "character varying", Oid.TEXT: "text",
    Oid.BOOL: "boolean", Oid.DATE: "date", Oid.TIMESTAMPTZ: "timestamp with time zone",
    Oid.TIMESTAMP: "timestamp without time zone", Oid.TIME: "time without time zone", Oid.BYTEA: "bytea",
    Oid.INTERVAL: "interval", Oid.UUID: "uuid", Oid.JSON: "json",
}  # fmt: skip
#: Cast targets as sqlglot writes them in PostgreSQL's dialect, by PostgreSQL's name.
_CAST_NAMES = {
    "INT": "integer", "INTEGER": "integer", "BIGINT": "bigint", "SMALLINT": "smallint", "TEXT": "text",
    "VARCHAR": "character varying", "CHAR": "character", "DECIMAL": "numeric", "NUMERIC": "numeric",
    "DOUBLE PRECISION": "double precision", "REAL": "real", "BOOLEAN": "boolean", "DATE": "date",
    "TIMESTAMPTZ": "timestamp with time zone", "TIMESTAMP": "timestamp without time zone",
    "TIME": "time without time zone", "INTERVAL": "interval", "BYTEA": "bytea", "UUID": "uuid", "JSON": "json",
}  # fmt: skip
#: Calls whose result is text in PostgreSQL, whatever string they are given.
_TEXT_CALLS = (
    exp.Upper, exp.Lower, exp.DPipe, exp.Concat, exp.Substring, exp.Trim, exp.Initcap, exp.Left, exp.Right,
    exp.Pad, exp.Repeat, exp.Reverse, exp.ConcatWs, exp.TimeToStr, exp.Replace, exp.ToChar,
)  # fmt: skip


def column_types(tree: exp.Expr, lookup: Lookup) -> dict[str, str]:
    """PostgreSQL's type of each column name of the port tables ``tree`` reads (names two tables
    give different types are left out)."""
    found: dict[str, str] = {}
    clashes: set[str] = set()
    for node in tree.find_all(exp.Table):
        if not isinstance(node.this, exp.Identifier):
            continue
        table = lookup(node.db.lower() or None, node.name.lower())
        for field in table.arrow_schema if table is not None else ():
            name = _OID_NAMES.get(arrow_to_pg(_plain_string(field)).oid)
            if name is not None and found.setdefault(field.name.lower(), name) != name:
                clashes.add(field.name.lower())
    return {k: v for k, v in found.items() if k not in clashes}


def _plain_string(field: pa.Field) -> pa.Field:
    # A port table's string column is varchar in the catalog (columntypes.py), text to the engine.
    is_string = pa.types.is_string(field.type) or pa.types.is_large_string(field.type)
    if not is_string:
        return field
    return pa.field(field.name, pa.string(), metadata={PG_OID_METADATA_KEY: str(int(Oid.VARCHAR)).encode()})


def type_of(node: exp.Expr, columns: Mapping[str, str]) -> str | None:
    """PostgreSQL's type of an expression as the statement shows it, or None when it does not."""
    if isinstance(node, exp.Paren):
        return type_of(node.this, columns)
    if isinstance(node, exp.Neg):
        inner = type_of(node.this, columns)
        return inner if inner in ("integer", "bigint", "numeric") else None
    if isinstance(node, exp.Literal):
        if node.is_string:
            return "unknown"
        text = str(node.this)
        if not text.isdigit():
            return "numeric"
        return "integer" if int(text) < 2**31 else "bigint" if int(text) < 2**63 else "numeric"
    if isinstance(node, exp.Boolean):
        return "boolean"
    if isinstance(node, exp.Null):
        return "unknown"
    if isinstance(node, exp.Cast):
        written = node.to.sql(dialect="postgres").split("(")[0].upper()
        return _CAST_NAMES.get(written)
    if isinstance(node, exp.Column) and not isinstance(node.this, exp.Star):
        return columns.get(node.name.lower())
    if isinstance(node, _TEXT_CALLS):
        return "text"
    if isinstance(node, exp.Count):
        return "bigint"
    return None


def check_arity(tree: exp.Expr, lookup: Lookup) -> None:
    """Refuse, as PostgreSQL does (42883), a call of one of its functions with arguments it has no
    version for, which the engine would answer otherwise: ``max(x, 3)`` and ``min(x, 3)`` are lists of
    the 3 largest or smallest there, ``string_agg(x)`` joins with commas, and sqlglot drops or refuses
    the arguments its functions do not take (``sum(a, b)``)."""
    for node in tree.find_all(exp.Func):
        name = str(node.meta.get(CALLED_AS) or "").lower()
        args: list[exp.Expr] | None = node.meta.get(EXTRA_ARGUMENTS)
        if isinstance(node, (exp.Max, exp.Min)) and node.expressions:
            args = [node.this, *node.expressions]
        elif isinstance(node, exp.GroupConcat) and node.args.get("separator") is None:
            name, args = "string_agg", [node.this]
        if args is not None:
            _no_function(name or str(node.sql_name()).lower(), args, column_types(tree, lookup))


def _no_function(name: str, args: list[exp.Expr], columns: Mapping[str, str]) -> None:
    types = [type_of(arg.this if isinstance(arg, exp.Order) else arg, columns) for arg in args]
    if any(t is None for t in types):
        message = f"function {name} with {len(args)} argument{'s' if len(args) != 1 else ''} does not exist"
    else:
        message = f"function {name}({', '.join(t for t in types if t is not None)}) does not exist"
    raise PgError("42883", message, hint=FUNCTION_HINT)
