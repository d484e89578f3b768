"""Binary wire format of PostgreSQL numeric (base-10000 digits) to and from Decimal."""

from __future__ import annotations

import struct
from decimal import Context, Decimal

from .errors import PgError, SqlState

_POS, _NEG, _NAN, _PINF, _NINF = 0x0000, 0x4000, 0xC000, 0xD000, 0xF000
_HEAD = struct.Struct("!hhHh")
# numeric allows 131072 digits before the point; the default 28-digit context is far too small.
_CTX = Context(prec=140000)


def numeric_to_bytes(value: Decimal) -> bytes:
    """Encode a Decimal as a binary numeric."""
    if value.is_nan():
        return _HEAD.pack(0, 0, _NAN, 0)
    if value.is_infinite():
        return _HEAD.pack(0, 0, _NINF if value < 0 else _PINF, 0)
    sign, digit_tuple, exp = value.as_tuple()
    assert isinstance(exp, int)
    digits = "".join(map(str, digit_tuple)).lstrip("0") or "0"
    dscale = max(0, -exp)
    if exp > 0:
        digits += "0" * exp
        exp = 0
    point = len(digits) + exp
    if point < 0:
        digits = "0" * -point + digits
        point = 0
    int_part, frac_part = digits[:point], digits[point:]
    int_part = int_part.zfill((len(int_part) + 3) // 4 * 4)
    frac_part = frac_part.ljust((len(frac_part) + 3) // 4 * 4, "0")
    groups = [int(int_part[i : i + 4]) for i in range(0, len(int_part), 4)]
    weight = len(groups) - 1
    groups += [int(frac_part[i : i + 4]) for i in range(0, len(frac_part), 4)]
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        weight = 0
    head = _HEAD.pack(len(groups), weight, _NEG if sign and groups else _POS, dscale)
    return head + struct.pack(f"!{len(groups)}h", *groups)


def numeric_from_bytes(data: bytes) -> Decimal:
    """Decode a binary numeric into a Decimal."""
    if len(data) < 8:
        raise PgError(SqlState.INVALID_BINARY_REPRESENTATION, "invalid binary numeric")
    ndigits, weight, sign, dscale = _HEAD.unpack_from(data)
    if sign == _NAN:
        return Decimal("NaN")
    if sign in (_PINF, _NINF):
        return Decimal("-Infinity" if sign == _NINF else "Infinity")
    if len(data) != 8 + 2 * ndigits or ndigits < 0:
        raise PgError(SqlState.INVALID_BINARY_REPRESENTATION, "invalid binary numeric length")
    groups = struct.unpack_from(f"!{ndigits}h", data, 8)
    text = "".join(f"{g:04d}" for g in groups) or "0"
    # The first group holds digits 10^(4*weight) .. 10^(4*weight+3).
    exponent = 4 * (weight - ndigits + 1)
    result = Decimal(f"{'-' if sign == _NEG else ''}{text}E{exponent}")
    return result.quantize(Decimal(1).scaleb(-dscale), context=_CTX)
