"""``extract`` and ``date_part`` typed as PostgreSQL types them.

PostgreSQL (14 and later) answers ``extract(field from x)`` as a ``numeric`` and
``date_part('field', x)`` as a ``double precision`` named ``date_part``; the engine answers both
as a ``bigint`` (a ``double`` for the epoch), and drops the fraction of a second
(``extract(second from '…05.123456')`` is 5 there, 5.123456 in PostgreSQL). Fields of whole
numbers become ``numeric`` with no decimals; ``second`` and ``milliseconds`` keep the
microseconds (6 and 3 decimals), and ``epoch`` is the ``hexmesh_epoch`` macro (pgcatalog.py):
6 decimals, none for a date, and a year of an interval counted as 365.25 days as PostgreSQL
counts it (the engine: 360).
"""

from __future__ import annotations

from sqlglot import exp

from hexmesh.product.sql.interrupt import CALLED_AS

__all__ = ["EPOCH_MACRO", "is_date_part", "typed_extract"]

#: The epoch of each type PostgreSQL extracts it from, as a numeric of its scale.
EPOCH_MACRO = (
    "hexmesh_epoch(x DATE) AS CAST(epoch(x) AS DECIMAL(18, 0)), "
    "(x INTERVAL) AS CAST(epoch_us(x) AS DECIMAL(18, 0)) * 0.000001 + extract(year FROM x) * 453600, "
    "(x) AS CAST(epoch_us(x) AS DECIMAL(18, 0)) * 0.000001"
)
#: Fields with a fraction: microseconds scaled down to the field's unit.
_FRACTIONS = {"SECOND": "0.000001", "MILLISECONDS": "0.001", "MILLISECOND": "0.001"}
#: Fields the engine answers as PostgreSQL does but for the type (a double, where PostgreSQL keeps digits).
_AS_ENGINE = {"JULIAN"}


def is_date_part(node: exp.Extract) -> bool:
    """Whether the client wrote ``date_part('field', x)`` (sqlglot reads it as an extract)."""
    return str(node.meta.get(CALLED_AS) or "").lower() == "date_part"


def typed_extract(node: exp.Extract, value: exp.Expr | None = None) -> exp.Expr:
    """The PostgreSQL-typed replacement of ``node``; ``value``: the field's whole-number value when the
    caller computes it otherwise (fixedzone.py's arithmetic), else the engine's."""
    field = node.text("this").upper()
    source = node.expression
    if field in _AS_ENGINE:
        return node
    if value is not None:
        number: exp.Expr = _decimal(value, 18, 0)
    elif field == "EPOCH":
        number = exp.Anonymous(this="hexmesh_epoch", expressions=[source])
    elif field in _FRACTIONS:
        micros = exp.Extract(this=exp.var("MICROSECONDS"), expression=source)
        number = exp.Mul(this=_decimal(micros, 18, 0), expression=exp.Literal.number(_FRACTIONS[field]))
    else:
        number = _decimal(exp.Extract(this=node.args["this"], expression=source), 18, 0)
    if is_date_part(node):
        return exp.Cast(this=number, to=exp.DataType.build("DOUBLE"))
    return number


def _decimal(value: exp.Expr, precision: int, scale: int) -> exp.Expr:
    return exp.Cast(this=value, to=exp.DataType.build(f"DECIMAL({precision}, {scale})"))
