"""Vectorized PostgreSQL binary-format encoding of Arrow arrays (numpy big-endian views)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

from . import _vector as v
from ._numeric import numeric_to_bytes
from ._text import encode_text, interval_parts
from .types import Oid, element_oid

# PostgreSQL's epoch is 2000-01-01; Arrow's is 1970-01-01.
_EPOCH_DAYS = 10957
_EPOCH_US = _EPOCH_DAYS * 86_400_000_000


def _ints(dtype: pa.DataType, be: str) -> Callable[[pa.Array], v.Var]:
    return lambda a: v.big_endian(v.to_numpy(a.cast(dtype, safe=False)), be)


def _bool(arr: pa.Array) -> v.Var:
    return v.big_endian(v.to_numpy(arr, False).astype(np.uint8), "u1")


def _date(arr: pa.Array) -> v.Var:
    days = v.to_numpy(arr.cast(pa.date32()).cast(pa.int32())).astype(np.int32)
    return v.big_endian(days - _EPOCH_DAYS, ">i4")


def _time(arr: pa.Array) -> v.Var:
    micros = v.to_numpy(arr.cast(pa.time64("us")).cast(pa.int64()))
    return v.big_endian(micros, ">i8")


def _timestamp(arr: pa.Array) -> v.Var:
    if not pa.types.is_timestamp(arr.type):
        arr = arr.cast(pa.timestamp("us"))
    unit_us = arr.cast(pa.timestamp("us", arr.type.tz))
    micros = v.to_numpy(unit_us.view(pa.int64())).astype(np.int64)
    return v.big_endian(micros - _EPOCH_US, ">i8")


def _interval(arr: pa.Array) -> v.Var:
    months, days, micros = interval_parts(arr)
    rec = np.empty(len(arr), dtype=np.dtype([("us", ">i8"), ("d", ">i4"), ("m", ">i4")]))
    rec["us"], rec["d"], rec["m"] = micros, days, months
    return v.fixed(rec.view(np.uint8).reshape(len(arr), 16))


def _uuid(arr: pa.Array) -> v.Var:
    if isinstance(arr, pa.ExtensionArray):
        arr = arr.storage
    if not pa.types.is_fixed_size_binary(arr.type):
        # UUIDs arriving as text (DuckDB's default export) are parsed from hex with numpy.
        text = v.from_arrow(encode_text(arr))
        return _uuid_from_text(text, v.valid_mask(arr))
    raw = np.frombuffer(arr.buffers()[1], dtype=np.uint8)
    return v.fixed(raw[arr.offset * 16 : (arr.offset + len(arr)) * 16].reshape(len(arr), 16))


def _uuid_from_text(text: v.Var, valid: v.Mask) -> v.Var:
    packed = v.concat([text])
    hexchars = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    lut = np.zeros(256, dtype=np.uint8)
    lut[hexchars] = np.arange(16)
    lut[np.frombuffer(b"ABCDEF", dtype=np.uint8)] = np.arange(10, 16)
    out = np.zeros((len(text), 16), dtype=np.uint8)
    ok = valid & (packed.lens == 36)
    rows = packed.starts[ok]
    pos = np.array([j for j in range(36) if j not in (8, 13, 18, 23)], dtype=np.int64)
    digits = lut[packed.data[rows[:, None] + pos]]
    out[ok] = (digits[:, 0::2] << 4) | digits[:, 1::2]
    return v.fixed(out)


def _text(arr: pa.Array) -> v.Var:
    return v.from_arrow(encode_text(arr))


def _jsonb(arr: pa.Array) -> v.Var:
    # jsonb's binary format is a version byte (1) followed by the JSON text.
    return v.concat([v.constant(b"\x01", len(arr)), _text(arr)])


def _bytea(arr: pa.Array) -> v.Var:
    if pa.types.is_fixed_size_binary(arr.type):
        arr = arr.cast(pa.binary())
    if not (pa.types.is_binary(arr.type) or pa.types.is_large_binary(arr.type)):
        return _text(arr)
    return v.from_arrow(arr)


def _numeric(arr: pa.Array) -> v.Var:
    fast = _numeric_int64(arr)
    if fast is not None:
        return fast
    # Values beyond int64 or scales above 15: base-10000 digits per value, in Python.
    values = arr.to_pylist()
    encoded = [b"" if x is None else numeric_to_bytes(Decimal(x)) for x in values]
    lens = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    return v.Var(data, np.cumsum(lens) - lens, lens)


_INT_GROUPS, _FRAC_GROUPS = 5, 4  # int64 has at most 19 digits; scales up to 15 fill 4 groups


def _numeric_int64(arr: pa.Array) -> v.Var | None:
    """Binary numerics of a decimal128 array whose unscaled values fit int64 (scale 0..15), column-wise.

    The layout is numeric_send's: ndigits, weight, sign, dscale, then the base-10000 digits
    without leading or trailing zero groups. None when a value or the scale does not fit.
    """
    if not pa.types.is_decimal128(arr.type) or not 0 <= arr.type.scale <= 15:
        return None
    n, scale = len(arr), arr.type.scale
    words = np.frombuffer(arr.buffers()[1], dtype=np.int64)[2 * arr.offset : 2 * (arr.offset + n)]
    low, high = words[0::2], words[1::2]
    valid = v.valid_mask(arr)
    if not np.all(~valid | (high == (low >> 63))) or np.any(valid & (low == np.iinfo(np.int64).min)):
        return None
    unscaled = np.where(valid, low, 0)
    size = np.abs(unscaled)
    whole, frac = size // 10**scale, size % 10**scale
    frac = frac * 10 ** ((4 - scale % 4) % 4)  # the fraction's digits in whole groups of four
    groups = np.zeros((n, _INT_GROUPS + _FRAC_GROUPS), dtype=np.int64)
    for k in range(_INT_GROUPS):
        groups[:, _INT_GROUPS - 1 - k] = whole // 10 ** (4 * k) % 10000
    frac_groups = (scale + 3) // 4
    for k in range(frac_groups):
        groups[:, _INT_GROUPS + frac_groups - 1 - k] = frac // 10 ** (4 * k) % 10000
    nonzero = groups != 0
    any_digit = nonzero.any(axis=1)
    first = np.where(any_digit, nonzero.argmax(axis=1), 0)
    last = np.where(any_digit, groups.shape[1] - 1 - nonzero[:, ::-1].argmax(axis=1), -1)
    head = np.empty((n, 4), dtype=">i2")
    head[:, 0] = last - first + 1
    head[:, 1] = np.where(any_digit, _INT_GROUPS - 1 - first, 0)
    head[:, 2] = np.where(any_digit & (unscaled < 0), 0x4000, 0).astype(np.uint16).view(np.int16)
    head[:, 3] = scale
    digits = np.ascontiguousarray(groups.astype(">i2")).view(np.uint8).reshape(-1)
    width = 2 * groups.shape[1]
    body = v.Var(digits, np.arange(n, dtype=np.int64) * width + 2 * first, 2 * (last - first + 1))
    return v.concat([v.fixed(head.view(np.uint8).reshape(n, 8)), body])


def _array(arr: pa.Array, oid: int) -> v.Var:
    elem = element_oid(oid) or Oid.TEXT
    if pa.types.is_fixed_size_list(arr.type):
        arr = arr.cast(pa.list_(arr.type.value_type))
    if not (pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type)):
        return _text(arr)
    values = arr.values
    valid = v.valid_mask(values)
    lens = np.where(valid, 0, -1).astype(np.int64)
    body = encode_binary(values, elem)
    lens[valid] = body.lens[valid]
    prefixed = v.concat([v.big_endian(lens, ">i4"), body])
    offsets = v.to_numpy(arr.offsets).astype(np.int64)
    counts = np.diff(offsets)
    nulls = np.concatenate([[0], np.cumsum(~valid)])
    has_null = (nulls[offsets[1:]] - nulls[offsets[:-1]]) > 0
    head = np.empty((len(arr), 5), dtype=">i4")
    head[:, 0] = (counts > 0).astype(np.int32)
    head[:, 1] = has_null
    head[:, 2] = elem
    head[:, 3] = counts
    head[:, 4] = 1
    header = v.fixed(head.view(np.uint8).reshape(len(arr), 20))
    # An empty array is just ndim=0, flags and element type: 12 bytes.
    header.lens = np.where(counts > 0, 20, 12).astype(np.int64)
    header.width = None
    return v.concat([header, v.group(prefixed, offsets)])


_BY_OID: dict[int, Callable[[pa.Array], v.Var]] = {
    Oid.BOOL: _bool,
    Oid.INT2: _ints(pa.int16(), ">i2"),
    Oid.INT4: _ints(pa.int32(), ">i4"),
    Oid.OID: _ints(pa.uint32(), ">u4"),
    Oid.INT8: _ints(pa.int64(), ">i8"),
    Oid.FLOAT4: _ints(pa.float32(), ">f4"),
    Oid.FLOAT8: _ints(pa.float64(), ">f8"),
    Oid.NUMERIC: _numeric,
    Oid.BYTEA: _bytea,
    Oid.DATE: _date,
    Oid.TIME: _time,
    Oid.TIMESTAMP: _timestamp,
    Oid.TIMESTAMPTZ: _timestamp,
    Oid.INTERVAL: _interval,
    Oid.UUID: _uuid,
    Oid.JSONB: _jsonb,
}


def encode_binary(arr: pa.Array, oid: int) -> v.Var:
    """Binary wire values of an Arrow array for a PG type OID; null rows have length 0."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_null(arr.type):
        return v.Var(np.empty(0, np.uint8), np.zeros(len(arr), np.int64), np.zeros(len(arr), np.int64))
    if isinstance(arr.type, pa.BaseExtensionType) and oid != Oid.UUID:
        arr = arr.storage
    is_array = element_oid(oid) is not None
    encoded = _array(arr, oid) if is_array else _BY_OID.get(oid, _text)(arr)
    if arr.null_count and encoded.width is not None:
        encoded = v.Var(encoded.data, encoded.starts, encoded.lens.copy())
    if arr.null_count:
        encoded.lens[~v.valid_mask(arr)] = 0
        encoded.width = None
    return encoded
