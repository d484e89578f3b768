"""A deliberately minimal protocol client for feeding the server malformed input."""

from __future__ import annotations

import socket
import struct


class Raw:
    """Blocking socket speaking just enough of the protocol to misbehave on purpose."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)

    def send(self, data: bytes) -> None:
        """Send raw bytes."""
        self.sock.sendall(data)

    def startup(self, user: str = "raw") -> dict[bytes, list[bytes]]:
        """Send a StartupMessage and read up to ReadyForQuery."""
        body = struct.pack("!i", 196608) + b"user\0" + user.encode() + b"\0\0"
        self.send(struct.pack("!i", len(body) + 4) + body)
        return self.until(b"Z")

    def message(self, kind: bytes, payload: bytes = b"") -> None:
        """Send one typed message."""
        self.send(kind + struct.pack("!i", len(payload) + 4) + payload)

    def read_message(self) -> tuple[bytes, bytes]:
        """Read one typed message; (b'', b'') on EOF."""
        head = self._exact(5)
        if len(head) < 5:
            return b"", b""
        (length,) = struct.unpack("!i", head[1:])
        return head[:1], self._exact(length - 4)

    def until(self, stop: bytes) -> dict[bytes, list[bytes]]:
        """Read messages until one of type stop (or EOF), grouped by type."""
        seen: dict[bytes, list[bytes]] = {}
        while True:
            kind, payload = self.read_message()
            if not kind:
                return seen
            seen.setdefault(kind, []).append(payload)
            if kind == stop:
                return seen

    def _exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                break
            data += chunk
        return data

    def read_all(self) -> bytes:
        """Everything until the server closes the connection."""
        out = b""
        while chunk := self.sock.recv(65536):
            out += chunk
        return out

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()


def sqlstate(error_payload: bytes) -> str:
    """The C field of an ErrorResponse payload."""
    for field in error_payload.split(b"\0"):
        if field.startswith(b"C"):
            return field[1:].decode()
    return ""
