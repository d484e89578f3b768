"""Vectorized PostgreSQL text-format rendering of Arrow arrays (pyarrow.compute, numpy)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]

from . import _vector as v
from ._float import float_text

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_NEEDS_QUOTE = r'^$|[{}",\\\s]|^[Nn][Uu][Ll][Ll]$'


def hex_digits(data: v.U8) -> v.U8:
    """Lower-case hex of each byte, two output bytes per input byte."""
    out = np.empty(len(data) * 2, dtype=np.uint8)
    out[0::2] = _HEX[data >> 4]
    out[1::2] = _HEX[data & 15]
    return out


def with_validity(col: v.Var, arr: pa.Array) -> pa.Array:
    """Turn a Var into a string array carrying arr's nulls."""
    valid = v.valid_mask(arr) if arr.null_count else None
    # Batches are sliced small, so 32-bit offsets suffice and keep every result one type.
    return v.to_arrow_binary(col, valid, pa.large_string()).cast(pa.string())


def _bytea(arr: pa.Array) -> pa.Array:
    if pa.types.is_fixed_size_binary(arr.type):
        arr = arr.cast(pa.binary())
    col = v.from_arrow(arr)
    hexed = v.Var(hex_digits(col.data), col.starts * 2, col.lens * 2)
    return with_validity(v.concat([v.constant(b"\\x", len(arr)), hexed]), arr)


def _uuid(arr: pa.Array) -> pa.Array:
    storage = arr.storage if isinstance(arr, pa.ExtensionArray) else arr
    raw = np.frombuffer(storage.buffers()[1], dtype=np.uint8)
    raw = raw[storage.offset * 16 : (storage.offset + len(storage)) * 16]
    hexed = hex_digits(raw).reshape(len(storage), 32)
    out = np.full((len(storage), 36), ord("-"), dtype=np.uint8)
    for src, dst in ((0, 0), (8, 9), (12, 14), (16, 19), (20, 24)):
        width = {0: 8, 8: 4, 12: 4, 16: 4, 20: 12}[src]
        out[:, dst : dst + width] = hexed[:, src : src + width]
    return with_validity(v.fixed(out), storage)


def _strip_fraction(strings: pa.Array) -> pa.Array:
    # PostgreSQL prints only the significant fractional-second digits ("12:00:00", "12:00:00.5").
    # Only for casts with a fraction (every unit but seconds): trimming "0" stops at the ".".
    return pc.utf8_rtrim(pc.utf8_rtrim(strings, "0"), ".")


def _fraction_unit(dtype: pa.DataType) -> bool:
    return str(getattr(dtype, "unit", "s")) != "s"


def _clock(arr: pa.Array) -> pa.Array:
    """A time or naive timestamp as text, without insignificant fractional digits."""
    text = pc.cast(arr, pa.string())
    return _strip_fraction(text) if _fraction_unit(arr.type) else text


_UTC_NAMES = {"UTC", "Etc/UTC", "+00:00", "Z"}
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def _timestamp(arr: pa.Array) -> pa.Array:
    """Naive timestamps as they are; instants as local time in the array's zone with its offset."""
    if arr.type.tz is None:
        return _clock(arr)
    naive = arr.view(pa.timestamp(arr.type.unit))
    if arr.type.tz in _UTC_NAMES:
        return pc.binary_join_element_wise(_clock(naive), "+00", "")
    local = pc.local_timestamp(arr)
    shift = pc.subtract(local.view(pa.int64()), naive.view(pa.int64()))
    minutes = pc.divide(shift, _PER_SECOND[arr.type.unit] * 60)
    return pc.binary_join_element_wise(_clock(local), _offset(minutes), "")


def _offset(minutes: pa.Array) -> pa.Array:
    """``+01``, ``-05``, ``+05:30``: an offset as PostgreSQL prints it."""
    size = pc.abs(minutes)
    hours = pc.utf8_lpad(pc.cast(pc.divide(size, 60), pa.string()), 2, "0")
    rest = pc.utf8_lpad(pc.cast(pc.subtract(size, pc.multiply(pc.divide(size, 60), 60)), pa.string()), 2, "0")
    sign = pc.if_else(pc.less(minutes, 0), "-", "+")
    tail = pc.if_else(pc.equal(rest, "00"), "", pc.binary_join_element_wise(":", rest, ""))
    return pc.binary_join_element_wise(sign, hours, tail, "")


def _unit(values: pa.Array, singular: str, plural: str) -> pa.Array:
    label = pc.if_else(pc.equal(values, 1), singular, plural)
    part = pc.binary_join_element_wise(pc.cast(values, pa.string()), label, "")
    return pc.if_else(pc.equal(values, 0), pa.scalar(None, pa.string()), part)


def interval_parts(arr: pa.Array) -> tuple[v.I64, v.I64, v.I64]:
    """Months, days and microseconds of an interval or duration array (nulls as 0)."""
    n = len(arr)
    if pa.types.is_duration(arr.type):
        per_us = {"s": 1_000_000, "ms": 1000, "us": 1, "ns": 1}[arr.type.unit]
        raw = v.to_numpy(arr.cast(pa.int64())).astype(np.int64)
        micros = raw // 1000 if arr.type.unit == "ns" else raw * per_us
        zeros = np.zeros(n, dtype=np.int64)
        return zeros, zeros.copy(), micros
    dtype = np.dtype([("m", "<i4"), ("d", "<i4"), ("ns", "<i8")])
    rec = np.frombuffer(arr.buffers()[1], dtype=dtype)[arr.offset : arr.offset + n]
    valid = v.valid_mask(arr)
    months = np.where(valid, rec["m"], 0).astype(np.int64)
    days = np.where(valid, rec["d"], 0).astype(np.int64)
    return months, days, np.where(valid, rec["ns"] // 1000, 0).astype(np.int64)


def _interval(arr: pa.Array) -> pa.Array:
    months, days, micros = interval_parts(arr)
    years = np.trunc(months / 12).astype(np.int64)
    mons = months - years * 12
    absus = np.abs(micros)
    hms = [absus // 3_600_000_000, absus // 60_000_000 % 60, absus // 1_000_000 % 60]
    padded = [pc.utf8_lpad(pc.cast(pa.array(x), pa.string()), 2, "0") for x in hms]
    frac = _strip_fraction(
        pc.binary_join_element_wise(".", pc.utf8_lpad(pc.cast(pa.array(absus % 1_000_000), pa.string()), 6, "0"), "")
    )
    clock = pc.binary_join_element_wise(pc.binary_join_element_wise(*padded, ":"), frac, "")
    clock = pc.if_else(pa.array(micros < 0), pc.binary_join_element_wise("-", clock, ""), clock)
    show_clock = pa.array((micros != 0) | ((months == 0) & (days == 0)))
    clock = pc.if_else(show_clock, clock, pa.scalar(None, pa.string()))
    parts = [
        _unit(pa.array(years), " year", " years"),
        _unit(pa.array(mons), " mon", " mons"),
        _unit(pa.array(days), " day", " days"),
        clock,
    ]
    text = pc.binary_join_element_wise(*parts, " ", null_handling="skip")
    return pc.if_else(arr.is_valid(), text, pa.scalar(None, pa.string()))


def quote_elements(strings: pa.Array) -> pa.Array:
    """Quote array elements the way PostgreSQL's array_out does; nulls become NULL."""
    escaped = pc.replace_substring_regex(strings, pattern=r'(["\\])', replacement=r"\\\1")
    quoted = pc.binary_join_element_wise('"', escaped, '"', "")
    needs = pc.match_substring_regex(strings, _NEEDS_QUOTE)
    return pc.fill_null(pc.if_else(needs, quoted, strings), "NULL")


def _list(arr: pa.Array) -> pa.Array:
    if pa.types.is_fixed_size_list(arr.type):
        arr = arr.cast(pa.list_(arr.type.value_type))
    elements = quote_elements(encode_text(arr.values))
    cls = pa.LargeListArray if pa.types.is_large_list(arr.type) else pa.ListArray
    lists = cls.from_arrays(arr.offsets, elements)
    text = pc.binary_join_element_wise("{", pc.binary_join(lists, ","), "}", "")
    if arr.null_count:
        text = pc.if_else(arr.is_valid(), text, pa.scalar(None, pa.string()))
    return text


def encode_vector(arr: pa.Array) -> pa.Array:
    """An int2vector's text: its elements separated by spaces, without braces ("1 2")."""
    if pa.types.is_fixed_size_list(arr.type) or not (pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type)):
        return encode_text(arr)
    cls = pa.LargeListArray if pa.types.is_large_list(arr.type) else pa.ListArray
    lists = cls.from_arrays(arr.offsets, pc.cast(arr.values, pa.string()))
    text = pc.binary_join(lists, " ")
    if arr.null_count:
        text = pc.if_else(arr.is_valid(), text, pa.scalar(None, pa.string()))
    return text


def _fallback(arr: pa.Array) -> pa.Array:
    # Structs, maps and other nested types have no PostgreSQL equivalent here; str() them.
    return pa.array([None if x is None else str(x) for x in arr.to_pylist()], pa.string())


def _renderer(dtype: pa.DataType) -> Callable[[pa.Array], pa.Array]:
    t = pa.types
    table: list[tuple[bool, Callable[[pa.Array], pa.Array]]] = [
        (t.is_boolean(dtype), lambda a: pc.if_else(a, "t", "f")),
        (t.is_integer(dtype) or t.is_decimal(dtype), lambda a: pc.cast(a, pa.string())),
        (t.is_floating(dtype), float_text),
        (t.is_string(dtype), lambda a: a),
        (t.is_large_string(dtype) or t.is_string_view(dtype), lambda a: a.cast(pa.string())),
        (t.is_binary(dtype) or t.is_large_binary(dtype) or t.is_binary_view(dtype), _bytea),
        (t.is_fixed_size_binary(dtype), _bytea),
        (t.is_date32(dtype), lambda a: pc.cast(a, pa.string())),
        (t.is_date64(dtype), lambda a: pc.cast(a.cast(pa.date32()), pa.string())),
        (t.is_time(dtype), _clock),
        (t.is_timestamp(dtype), _timestamp),
        (t.is_interval(dtype) or t.is_duration(dtype), _interval),
        (t.is_list(dtype) or t.is_large_list(dtype) or t.is_fixed_size_list(dtype), _list),
        (t.is_null(dtype), lambda a: pa.nulls(len(a), pa.string())),
    ]
    for matched, fn in table:
        if matched:
            return fn
    return _fallback


def encode_text(arr: pa.Array) -> pa.Array:
    """Render an Arrow array as a string array in PostgreSQL's text output format."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if isinstance(arr.type, pa.BaseExtensionType):
        if arr.type.extension_name == "arrow.uuid":
            return _uuid(arr)
        arr = arr.storage
    return _renderer(arr.type)(arr)
