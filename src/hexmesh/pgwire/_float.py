"""float4/float8 text as PostgreSQL prints it: shortest round-trip digits, printf's layout.

Arrow's cast gives the shortest digits that read back to the same value, but lays them out as
JavaScript does (``0.00001``, ``1e-7``, ``1e+10`` for float8; ``16777216`` for float4).
PostgreSQL (``float8out``/``float4out`` with the default ``extra_float_digits = 1``) writes
fixed notation when the decimal exponent is in [-4, 15) for float8 and [-4, 6) for float4, and
otherwise ``d.ddde±XX`` with at least two exponent digits. Only the values whose layout differs
are rewritten, from Arrow's digits, column-wise.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]

from . import _vector as v

_PARTS = r"^(?P<sign>-?)(?P<int>\d+)(?:\.(?P<frac>\d+))?(?:e\+?(?P<exp>-?\d+))?$"


def float_text(arr: pa.Array) -> pa.Array:
    """PostgreSQL's text of a float32/float64 array (Infinity, -Infinity, NaN included)."""
    text = pc.cast(arr, pa.string())
    fixed_up_to = 1e6 if pa.types.is_float32(arr.type) else 1e15
    size = pc.abs(arr)
    finite = pc.and_(pc.is_finite(arr), pc.not_equal(arr, 0))
    # The boundaries are exact: a value below 1e-4 has a shortest decimal form below 1e-4 too.
    outside = pc.or_(pc.less(size, pa.scalar(1e-4, arr.type)), pc.greater_equal(size, pa.scalar(fixed_up_to, arr.type)))
    redo = pc.fill_null(pc.and_(finite, pc.or_(outside, pc.match_substring(text, "e"))), False)
    if pc.any(redo).as_py():
        text = pc.replace_with_mask(text, redo, _relaid(pc.filter(text, redo), fixed_up_to))
    special = pc.if_else(pc.greater(arr, 0), "Infinity", "-Infinity")
    text = pc.if_else(pc.is_inf(arr), special, text)
    return pc.if_else(pc.is_nan(arr), "NaN", text)


def _relaid(text: pa.Array, fixed_up_to: float) -> pa.Array:
    """Finite, non-zero values' text laid out again from their digits and decimal exponent."""
    parts = pc.extract_regex(text, _PARTS)
    sign, whole, frac, exp = (parts.field(k) for k in ("sign", "int", "frac", "exp"))
    digits = pc.binary_join_element_wise(whole, frac, "")
    significant = pc.utf8_rtrim(pc.utf8_ltrim(digits, "0"), "0")
    leading = pc.subtract(pc.utf8_length(digits), pc.utf8_length(pc.utf8_ltrim(digits, "0")))
    shift = v.to_numpy(pc.cast(pc.if_else(pc.equal(exp, ""), "0", exp), pa.int64())).astype(np.int64)
    # The decimal exponent of the first significant digit.
    e10 = shift + v.to_numpy(pc.utf8_length(whole)).astype(np.int64) - 1 - v.to_numpy(leading).astype(np.int64)
    fixed = (e10 >= -4) & (e10 < round(np.log10(fixed_up_to)))
    out = text
    for layout, rows in ((_fixed, fixed), (_scientific, ~fixed)):
        if rows.any():
            picked = pa.array(rows)
            laid = layout(pc.filter(sign, picked), v.from_arrow(pc.filter(significant, picked)), e10[rows])
            out = pc.replace_with_mask(out, picked, v.to_arrow_binary(laid, None, pa.large_string()).cast(pa.string()))
    return out


def _fixed(sign: pa.Array, d: v.Var, e10: v.I64) -> v.Var:
    """``123.45``, ``0.00012``: the digits d with the decimal point placed by e10."""
    big = e10 >= 0
    head = np.where(big, np.minimum(e10 + 1, d.lens), d.lens)
    return v.concat(
        [
            sign,
            _when(b"0.", ~big),
            _zeros(np.where(big, 0, -e10 - 1)),
            v.Var(d.data, d.starts, head),
            _zeros(np.where(big, np.maximum(e10 + 1 - d.lens, 0), 0)),
            _when(b".", big & (d.lens > e10 + 1)),
            v.Var(d.data, d.starts + head, d.lens - head),
        ]
    )


def _scientific(sign: pa.Array, d: v.Var, e10: v.I64) -> v.Var:
    """``1.2345e+20``, ``1e-05``: one digit before the point, at least two in the exponent."""
    power = pc.utf8_lpad(pc.cast(pa.array(np.abs(e10)), pa.string()), 2, "0")
    return v.concat(
        [
            sign,
            v.Var(d.data, d.starts, np.minimum(d.lens, 1)),
            _when(b".", d.lens > 1),
            v.Var(d.data, d.starts + 1, np.maximum(d.lens - 1, 0)),
            pc.if_else(pa.array(e10 < 0), "e-", "e+"),
            power,
        ]
    )


def _when(text: bytes, on: v.Mask) -> pa.Array:
    return pc.if_else(pa.array(on), pa.scalar(text, pa.binary()), pa.scalar(b"", pa.binary()))


def _zeros(count: v.I64) -> pa.Array:
    return pc.binary_repeat(pa.scalar(b"0", pa.binary()), pa.array(count))
