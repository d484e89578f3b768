"""PostgreSQL's numeric quotient and its display scale, per value (ADR 0042).

PostgreSQL's ``numeric / numeric`` and ``avg(numeric)`` pick each value's scale from the operands
(``select_div_scale`` in ``utils/adt/numeric.c``): with ``w`` the weight of a value's first
base-10000 digit group and ``d`` that group, ``qweight = w1 - w2 - (d1 <= d2 ? 1 : 0)`` and
``rscale = max(16 - 4 * qweight, dscale1, dscale2, 0)``; the quotient is rounded half away from
zero at ``rscale``. The engine's DECIMAL has one scale per column, so a result column whose scale
PostgreSQL picks per value leaves the engine as a pair (:data:`VALUE`, :data:`SHOWN`): the value,
which ``ORDER BY`` sorts by, and PostgreSQL's text of it, which the client receives as ``numeric``
(binary numeric carries the same digits and display scale).

The macros compute on the operands' unscaled integers in HUGEINT: one multiply and one integer
division per row (``Q = round(A * 10^(r + s2 - s1) / B)``); each intermediate is bound once in a
one-element ``list_transform`` (a macro repeats its argument wherever it is used).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from hexmesh.pgwire import PG_OID_METADATA_KEY, PG_TYPMOD_METADATA_KEY, Oid

__all__ = ["MACROS", "shown_batch", "shown_schema"]

#: The fields of a pair that leaves the engine: the value, PostgreSQL's text of it, and the operands' types.
VALUE, SHOWN, LEFT, RIGHT = "hexmesh_value", "hexmesh_shown", "hexmesh_left", "hexmesh_right"

_POWERS = "[" + ", ".join(f"{10**i}::HUGEINT" for i in range(39)) + "]"
_POWERS64 = "[" + ", ".join(f"{10**i}::BIGINT" for i in range(19)) + "]"
# A DECIMAL's unscaled integer: a multiply by a literal power of ten where the product's unscaled
# integer (U * 10^s, at scale s) stays within 18 digits, the engine's 64-bit fast path (precision
# and scale are constants, so one branch remains); through the value's text beyond. TRY_CAST binds for any
# type: a double or an interval operand binds here, and its text is not used.
_UNSCALED = " ".join(f"WHEN {i} THEN TRY_CAST(x * {10**i} AS HUGEINT)" for i in range(19))
_TEXT_UNSCALED = "TRY_CAST(replace(CAST(x AS VARCHAR), '.', '') AS HUGEINT)"
# A product the quotient builds has at most this many digits plus two (the log10 may be one low):
# 2 * 10^37 is below a HUGEINT's 1.7 * 10^38.
_FITS = 35

MACROS = [
    f"hexmesh_p10(n) AS {_POWERS}[n + 1]",
    # typeof() is folded to a constant when the statement is bound: the scale costs nothing per row.
    r"hexmesh_scale(x) AS coalesce(TRY_CAST(regexp_extract(typeof(x), ',(\d+)\)', 1) AS INTEGER), 0)",
    r"hexmesh_precision(x) AS coalesce(TRY_CAST(regexp_extract(typeof(x), '\((\d+),', 1) AS INTEGER), 18)",
    "hexmesh_unscaled(x) AS CASE WHEN hexmesh_precision(x) + hexmesh_scale(x) <= 18 "
    f"THEN CASE hexmesh_scale(x) {_UNSCALED} END ELSE {_TEXT_UNSCALED} END",
    "hexmesh_shift(u, k) AS CASE WHEN k >= 0 THEN u // hexmesh_p10(k) ELSE u * hexmesh_p10(-k) END",
    # The weight of |U| * 10^-s from the double's log10; next to a power of 10000 it is off by one,
    # and the first group then is 0 or has five digits, which the next macro corrects.
    "hexmesh_guess(u, s) AS CASE WHEN u = 0 THEN 0 ELSE CAST(floor((floor(log10(u::DOUBLE)) - s) / 4) AS INTEGER) END",
    "hexmesh_group(u, s) AS list_transform([hexmesh_guess(u, s)], "
    "lambda w: {'w': w, 'd': hexmesh_shift(u, 4 * w + s)})[1]",
    "hexmesh_weight(u, s) AS list_transform([hexmesh_group(u, s)], lambda g: CASE "
    "WHEN g.d = 0 AND u > 0 THEN {'w': g.w - 1, 'd': hexmesh_shift(u, 4 * g.w - 4 + s)} "
    "WHEN g.d >= 10000 THEN {'w': g.w + 1, 'd': g.d // 10000} ELSE g END)[1]",
    # The same in 64 bits for operands of at most 18 digits, about 20x cheaper: the exact floor(log10)
    # (the double's, corrected by one either way) gives w and d without a second look.
    f"hexmesh_b10(n) AS {_POWERS64}[n + 1]",
    "hexmesh_blog_guess(u) AS least(CAST(floor(log10(u::DOUBLE)) AS INTEGER), 17)",  # u < 10^18
    "hexmesh_blog(u) AS hexmesh_blog_guess(u) - (hexmesh_b10(hexmesh_blog_guess(u)) > u)::INTEGER "
    "+ (hexmesh_b10(hexmesh_blog_guess(u) + 1) <= u)::INTEGER",
    "hexmesh_bweight(u, s) AS CASE WHEN u = 0 THEN 0 ELSE CAST(floor((hexmesh_blog(u) - s) / 4.0) AS INTEGER) END",
    "hexmesh_bgroup(u, s, w) AS CASE WHEN 4 * w + s >= 0 THEN u // hexmesh_b10(4 * w + s) "
    "ELSE u * hexmesh_b10(-(4 * w + s)) END",
    "hexmesh_brscale(u1, s1, u2, s2) AS list_transform([{'a': hexmesh_bweight(u1, s1), 'b': hexmesh_bweight(u2, s2)}], "
    "lambda w: greatest(16 - 4 * (w.a - w.b - (hexmesh_bgroup(u1, s1, w.a) <= hexmesh_bgroup(u2, s2, w.b))::INTEGER), "
    "s1, s2, 0))[1]",
    # Whether x's unscaled integers have at most 18 digits (a BIGINT may have 19).
    "hexmesh_narrow(x) AS typeof(x) IN ('TINYINT', 'SMALLINT', 'INTEGER') "
    "OR (typeof(x) LIKE 'DECIMAL(%' AND hexmesh_precision(x) <= 18)",
    "hexmesh_rscale(u1, s1, u2, s2) AS list_transform([{'a': hexmesh_weight(u1, s1), 'b': hexmesh_weight(u2, s2)}], "
    "lambda g: greatest(16 - 4 * (g.a.w - g.b.w - (g.a.d <= g.b.d)::INTEGER), s1, s2, 0))[1]",
    # Half away from zero of u1 * 10^k / u2, for u1 >= 0 and u2 > 0.
    "hexmesh_quot(u1, u2, k) AS CASE WHEN k >= 0 THEN (2 * u1 * hexmesh_p10(k) + u2) // (2 * u2) "
    "ELSE (2 * u1 + u2 * hexmesh_p10(-k)) // (2 * u2 * hexmesh_p10(-k)) END",
    # The same by two steps of long division, for u1 * 10^k past 128 bits: u1 * 10^k1 at most 37
    # digits, then the remainder (below u2) times the rest of 10^k.
    "hexmesh_quot2(u1, u2, k, k1) AS list_transform([u1 * hexmesh_p10(k1)], lambda n: (n // u2) * hexmesh_p10(k - k1) "
    "+ (2 * (n % u2) * hexmesh_p10(k - k1) + u2) // (2 * u2))[1]",
    "hexmesh_lg(u) AS CASE WHEN u = 0 THEN 0 ELSE CAST(floor(log10(u::DOUBLE)) AS INTEGER) END",
    # {q, r}: the quotient's unscaled integer at its display scale r. The digit counts (from the
    # double's log10, off by at most one) keep every product below 10^37: one step, two steps, or
    # a NULL q where even two would not fit in a HUGEINT (the caller shows the engine's double).
    # ``narrow``: both operands' unscaled integers have at most 18 digits (a constant).
    "hexmesh_quotient(u1, s1, u2, s2, narrow) AS list_transform([{'a': abs(u1), 'b': abs(u2), "
    "'sg': sign(u1) * sign(u2), 'l1': hexmesh_lg(abs(u1)), 'l2': hexmesh_lg(abs(u2))}], lambda o: list_transform(["
    "CASE WHEN narrow THEN hexmesh_brscale(TRY_CAST(o.a AS BIGINT), s1, TRY_CAST(o.b AS BIGINT), s2) "
    "ELSE hexmesh_rscale(o.a, s1, o.b, s2) END], lambda r: CASE "
    "WHEN o.b = 0 THEN error('Division by zero') "
    "WHEN o.a = 0 THEN {'q': 0::HUGEINT, 'r': r} "
    f"WHEN (r + s2 - s1 >= 0 AND o.l1 + r + s2 - s1 <= {_FITS}) OR (r + s2 - s1 < 0 AND o.l2 - r - s2 + s1 <= {_FITS}) "
    "THEN {'q': o.sg * hexmesh_quot(o.a, o.b, r + s2 - s1), 'r': r} "
    f"WHEN r + s2 - s1 >= 0 AND o.l1 <= {_FITS} AND o.l2 + r + s2 - s1 - ({_FITS} - o.l1) <= {_FITS} "
    f"AND o.l1 - o.l2 + r + s2 - s1 <= {_FITS} "
    f"THEN {{'q': o.sg * hexmesh_quot2(o.a, o.b, r + s2 - s1, {_FITS} - o.l1), 'r': r}} "
    "ELSE {'q': NULL::HUGEINT, 'r': NULL::INTEGER} END)[1])[1]",
    # The text of q * 10^-r; past 38 decimals every digit of a HUGEINT is a decimal.
    "hexmesh_numeric_text(q, r) AS CASE WHEN r = 0 THEN q::VARCHAR ELSE (CASE WHEN q < 0 THEN '-' ELSE '' END) "
    "|| CASE WHEN r > 38 THEN '0.' || lpad(abs(q)::VARCHAR, r, '0') ELSE (abs(q) // hexmesh_p10(r))::VARCHAR "
    "|| '.' || lpad((abs(q) % hexmesh_p10(r))::VARCHAR, r, '0') END END",
    "hexmesh_exact_kind(x) AS typeof(x) LIKE 'DECIMAL%' "
    "OR typeof(x) IN ('TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT')",
    # A result column's quotient: the engine's own (integer / integer stays integer division, a
    # double stays a double) and, for integers and numerics, PostgreSQL's text of it. The typed
    # nulls tell the operands' types to the result (shown_schema) before any row is read.
    "hexmesh_shown_quotient(a, b) AS CASE WHEN a IS NULL OR b IS NULL THEN NULL ELSE "
    f"{{'{VALUE}': a / b, '{SHOWN}': CASE WHEN hexmesh_exact_kind(a) AND hexmesh_exact_kind(b) THEN coalesce("
    "list_transform([hexmesh_quotient(hexmesh_unscaled(a), hexmesh_scale(a), hexmesh_unscaled(b), hexmesh_scale(b), "
    "hexmesh_narrow(a) AND hexmesh_narrow(b))], "
    "lambda d: hexmesh_numeric_text(d.q, d.r))[1], (TRY_CAST(a AS DOUBLE) / TRY_CAST(b AS DOUBLE))::VARCHAR) "
    f"END, '{LEFT}': CASE WHEN false THEN a END, '{RIGHT}': CASE WHEN false THEN b END}} END",
    # A result column's avg(): the sum over the count by the same rule (the count divides as a
    # numeric: avg() of integers is numeric in PostgreSQL).
    "hexmesh_shown_avg(x) AS CASE WHEN count(x) = 0 THEN NULL ELSE "
    f"{{'{VALUE}': avg(x), '{SHOWN}': CASE WHEN hexmesh_exact_kind(sum(x)) THEN coalesce("
    "list_transform([hexmesh_quotient(hexmesh_unscaled(sum(x)), hexmesh_scale(sum(x)), count(x)::HUGEINT, 0, false)], "
    "lambda d: hexmesh_numeric_text(d.q, d.r))[1], avg(x)::VARCHAR) "
    f"END, '{LEFT}': CASE WHEN false THEN sum(x) END, '{RIGHT}': NULL::DECIMAL(18, 0)}} END",
]


def _is_pair(dtype: pa.DataType) -> bool:
    names = [dtype.field(i).name for i in range(dtype.num_fields)] if pa.types.is_struct(dtype) else []
    return names == [VALUE, SHOWN, LEFT, RIGHT]


def _exact(dtype: pa.DataType) -> bool:
    return bool(pa.types.is_decimal(dtype) or pa.types.is_integer(dtype))


def _is_numeric(dtype: pa.DataType) -> bool:
    """A pair of integers and numerics, not both integers: PostgreSQL's numeric, shown as its text."""
    left, right = dtype.field(LEFT).type, dtype.field(RIGHT).type
    return _exact(left) and _exact(right) and not (pa.types.is_integer(left) and pa.types.is_integer(right))


_NUMERIC = {PG_OID_METADATA_KEY: str(Oid.NUMERIC).encode(), PG_TYPMOD_METADATA_KEY: b"-1"}


def shown_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with each pair column as the text a client receives, announced as numeric."""
    if not any(_is_pair(field.type) for field in schema):
        return schema
    fields = []
    for f in schema:
        if _is_pair(f.type) and _is_numeric(f.type):
            f = pa.field(f.name, pa.string(), f.nullable, {**(f.metadata or {}), **_NUMERIC})
        elif _is_pair(f.type):
            f = pa.field(f.name, f.type.field(VALUE).type, f.nullable, f.metadata)
        fields.append(f)
    return pa.schema(fields, metadata=schema.metadata)


def shown_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``batch`` with each pair column replaced by its text (a null pair: a null text)."""
    if not any(_is_pair(column.type) for column in batch.columns):
        return batch
    columns = [
        (pc.struct_field(c, [1 if _is_numeric(c.type) else 0]) if _is_pair(c.type) else c) for c in batch.columns
    ]
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)
