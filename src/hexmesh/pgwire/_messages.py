"""Framing of PostgreSQL v3 protocol messages: building backend messages, parsing frontend ones."""

from __future__ import annotations

import struct
from collections.abc import Sequence

from .errors import PgError, SqlState

PROTOCOL_3 = 196608
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102

_I16 = struct.Struct("!h")
_I32 = struct.Struct("!i")
_HDR = struct.Struct("!ci")


def message(kind: bytes, payload: bytes = b"") -> bytes:
    """Frame a backend message: type byte, int32 length including itself, payload."""
    return _HDR.pack(kind, len(payload) + 4) + payload


def cstr(text: str) -> bytes:
    """Encode a NUL-terminated UTF-8 string."""
    return text.encode() + b"\0"


def auth(code: int, data: bytes = b"") -> bytes:
    """Build an Authentication* message ('R') with its sub-code."""
    return message(b"R", _I32.pack(code) + data)


def parameter_status(name: str, value: str) -> bytes:
    """Build a ParameterStatus message."""
    return message(b"S", cstr(name) + cstr(value))


def backend_key_data(pid: int, secret: int) -> bytes:
    """Build a BackendKeyData message."""
    return message(b"K", struct.pack("!ii", pid, secret))


def ready_for_query(status: bytes) -> bytes:
    """Build ReadyForQuery with transaction status I, T or E."""
    return message(b"Z", status)


def command_complete(tag: str) -> bytes:
    """Build CommandComplete."""
    return message(b"C", cstr(tag))


def notice_or_error(
    kind: bytes,
    severity: str,
    sqlstate: str,
    text: str,
    detail: str | None = None,
    hint: str | None = None,
) -> bytes:
    """Build ErrorResponse ('E') or NoticeResponse ('N') with the usual fields."""
    fields = [b"S" + cstr(severity), b"V" + cstr(severity), b"C" + cstr(sqlstate)]
    fields.append(b"M" + cstr(text))
    if detail:
        fields.append(b"D" + cstr(detail))
    if hint:
        fields.append(b"H" + cstr(hint))
    return message(kind, b"".join(fields) + b"\0")


def error_response(err: PgError) -> bytes:
    """Build an ErrorResponse from a PgError."""
    return notice_or_error(b"E", err.severity, err.sqlstate, err.message, err.detail, err.hint)


def parameter_description(oids: Sequence[int]) -> bytes:
    """Build ParameterDescription."""
    return message(b"t", _I16.pack(len(oids)) + b"".join(_I32.pack(o) for o in oids))


def negotiate_protocol_version(minor: int, unknown: Sequence[str]) -> bytes:
    """Build NegotiateProtocolVersion for clients asking for 3.x with x > 0 or _pq_ options."""
    body = struct.pack("!ii", minor, len(unknown)) + b"".join(cstr(u) for u in unknown)
    return message(b"v", body)


NO_DATA = message(b"n")
PARSE_COMPLETE = message(b"1")
BIND_COMPLETE = message(b"2")
CLOSE_COMPLETE = message(b"3")
PORTAL_SUSPENDED = message(b"s")
EMPTY_QUERY = message(b"I")
COPY_DONE = message(b"c")


class Reader:
    """Cursor over a frontend message payload; malformed input raises a protocol violation."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise PgError(SqlState.PROTOCOL_VIOLATION, "message is shorter than its contents")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def int16(self) -> int:
        """Read a signed 16-bit integer."""
        value: int = _I16.unpack(self._take(2))[0]
        return value

    def int32(self) -> int:
        """Read a signed 32-bit integer."""
        value: int = _I32.unpack(self._take(4))[0]
        return value

    def byte(self) -> bytes:
        """Read one byte."""
        return self._take(1)

    def raw(self, n: int) -> bytes:
        """Read n bytes."""
        return self._take(n)

    def rest(self) -> bytes:
        """Read everything left."""
        return self._take(len(self.data) - self.pos)

    def cstring(self) -> str:
        """Read a NUL-terminated string, decoded as UTF-8."""
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise PgError(SqlState.PROTOCOL_VIOLATION, "unterminated string in message")
        raw = self.data[self.pos : end]
        self.pos = end + 1
        try:
            return raw.decode()
        except UnicodeDecodeError as exc:
            raise PgError(SqlState.PROTOCOL_VIOLATION, "invalid UTF-8 in message") from exc

    def int16_list(self) -> list[int]:
        """Read an int16 count followed by that many int16 values."""
        return [self.int16() for _ in range(self.count())]

    def int32_list(self) -> list[int]:
        """Read an int16 count followed by that many int32 values."""
        return [self.int32() for _ in range(self.count())]

    def count(self) -> int:
        """Read a non-negative int16 element count."""
        n = self.int16()
        if n < 0:
            raise PgError(SqlState.PROTOCOL_VIOLATION, "negative count in message")
        return n


def parse_startup(payload: bytes) -> dict[str, str]:
    """Parse the key/value pairs of a StartupMessage after its protocol version."""
    reader = Reader(payload)
    params: dict[str, str] = {}
    while reader.pos < len(payload):
        key = reader.cstring()
        if not key:
            break
        params[key] = reader.cstring()
    return params
