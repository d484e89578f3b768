"""Decoding of Bind parameter values (text or binary) into Python objects by type OID."""

from __future__ import annotations

import datetime as dt
import re
import struct
import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from ._numeric import numeric_from_bytes
from .errors import PgError, SqlState
from .types import Oid, element_oid

_PG_EPOCH = dt.datetime(2000, 1, 1)
_TRUE = {"t", "true", "1", "y", "yes", "on"}
_FALSE = {"f", "false", "0", "n", "no", "off"}


def _bool_text(s: str) -> bool:
    low = s.strip().lower()
    if low in _TRUE or low in _FALSE:
        return low in _TRUE
    raise ValueError(s)


def _bytea_text(s: str) -> bytes:
    if s.startswith("\\x"):
        return bytes.fromhex(s[2:])
    # Escape format: backslash-octal sequences and doubled backslashes.
    return s.encode("latin-1").decode("unicode_escape").encode("latin-1")


def _tz_fix(s: str) -> str:
    # Python wants "+HH:MM"; PostgreSQL clients often send "+HH" or "+HHMM".
    s = s.strip().replace("T", " ", 1)
    match = re.search(r"([+-]\d{2})(\d{2})?$", s)
    if match and ":" in s[: match.start()]:
        s = s[: match.start()] + match.group(1) + ":" + (match.group(2) or "00")
    return s


def _timestamp_text(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(_tz_fix(s))


def _interval_text(s: str) -> object:
    # Hand intervals to the backend as text; SQL engines parse PostgreSQL interval syntax.
    return s


_TEXT: dict[int, Callable[[str], object]] = {
    Oid.BOOL: _bool_text,
    Oid.INT2: int,
    Oid.INT4: int,
    Oid.INT8: int,
    Oid.OID: int,
    Oid.FLOAT4: float,
    Oid.FLOAT8: float,
    Oid.NUMERIC: Decimal,
    Oid.BYTEA: _bytea_text,
    Oid.DATE: dt.date.fromisoformat,
    Oid.TIME: dt.time.fromisoformat,
    Oid.TIMESTAMP: _timestamp_text,
    Oid.TIMESTAMPTZ: _timestamp_text,
    Oid.INTERVAL: _interval_text,
    Oid.UUID: uuid.UUID,
}


def _interval_bin(b: bytes) -> object:
    micros, days, months = struct.unpack("!qii", b)
    if months == 0:
        return dt.timedelta(days=days, microseconds=micros)
    return f"{months} months {days} days {micros} microseconds"


def _timestamptz_bin(b: bytes) -> dt.datetime:
    naive = _PG_EPOCH + dt.timedelta(microseconds=struct.unpack("!q", b)[0])
    return naive.replace(tzinfo=dt.UTC)


def _jsonb_bin(b: bytes) -> str:
    if not b or b[0] != 1:
        raise ValueError("unsupported jsonb version")
    return b[1:].decode()


def _unpack(fmt: str) -> Callable[[bytes], object]:
    unpacker = struct.Struct(fmt)
    return lambda b: unpacker.unpack(b)[0]


_BINARY: dict[int, Callable[[bytes], object]] = {
    Oid.BOOL: lambda b: struct.unpack("!?", b)[0],
    Oid.INT2: _unpack("!h"),
    Oid.INT4: _unpack("!i"),
    Oid.INT8: _unpack("!q"),
    Oid.OID: _unpack("!I"),
    Oid.FLOAT4: _unpack("!f"),
    Oid.FLOAT8: _unpack("!d"),
    Oid.NUMERIC: numeric_from_bytes,
    Oid.BYTEA: bytes,
    Oid.DATE: lambda b: dt.date(2000, 1, 1) + dt.timedelta(days=struct.unpack("!i", b)[0]),
    Oid.TIME: lambda b: (_PG_EPOCH + dt.timedelta(microseconds=struct.unpack("!q", b)[0])).time(),
    Oid.TIMESTAMP: lambda b: _PG_EPOCH + dt.timedelta(microseconds=struct.unpack("!q", b)[0]),
    Oid.TIMESTAMPTZ: _timestamptz_bin,
    Oid.INTERVAL: _interval_bin,
    Oid.UUID: lambda b: uuid.UUID(bytes=b),
    Oid.JSONB: _jsonb_bin,
}


def _split_array_text(s: str) -> list[str | None]:
    if not (s.startswith("{") and s.endswith("}")):
        raise ValueError("array literal must be enclosed in braces")
    items: list[str | None] = []
    body, i = s[1:-1], 0
    while i < len(body):
        if body[i] == '"':
            out, i = [], i + 1
            while body[i] != '"':
                if body[i] == "\\":
                    i += 1
                out.append(body[i])
                i += 1
            items.append("".join(out))
            i += 1
        else:
            end = body.find(",", i)
            end = len(body) if end < 0 else end
            raw = body[i:end].strip()
            items.append(None if raw.upper() == "NULL" else raw)
            i = end
        i += 1  # skip the comma
    return items


def _array_text(s: str, elem: int) -> list[object]:
    return [None if x is None else decode_text(x, elem) for x in _split_array_text(s)]


def _array_binary(b: bytes, elem: int) -> list[object]:
    ndim, _flags, elem_oid = struct.unpack_from("!iii", b)
    if ndim == 0:
        return []
    if ndim != 1:
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED, "only one-dimensional arrays are supported")
    count, _lbound = struct.unpack_from("!ii", b, 12)
    pos, out = 20, []
    for _ in range(count):
        (size,) = struct.unpack_from("!i", b, pos)
        pos += 4
        out.append(None if size < 0 else decode_binary(b[pos : pos + size], elem_oid or elem))
        pos += max(size, 0)
    return out


def decode_text(s: str, oid: int) -> object:
    """Python value of a text-format parameter of the given type."""
    elem = element_oid(oid)
    if elem is not None:
        return _array_text(s, elem)
    return _TEXT.get(oid, str)(s)


def decode_binary(b: bytes, oid: int) -> object:
    """Python value of a binary-format parameter of the given type."""
    elem = element_oid(oid)
    if elem is not None:
        return _array_binary(b, elem)
    fn = _BINARY.get(oid)
    return fn(b) if fn is not None else b.decode()


def decode_param(raw: bytes | None, oid: int, fmt: int) -> object:
    """Decode one Bind parameter; malformed input raises 22P02/22P03."""
    if raw is None:
        return None
    try:
        if fmt == 1:
            return decode_binary(raw, oid)
        return decode_text(raw.decode(), oid)
    except (ValueError, struct.error, InvalidOperation, IndexError, UnicodeDecodeError) as exc:
        state = SqlState.INVALID_BINARY_REPRESENTATION if fmt else SqlState.INVALID_TEXT_REPRESENTATION
        raise PgError(state, f"invalid input for parameter of type {oid}: {exc}") from exc
