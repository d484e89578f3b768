"""Buffered message I/O over an asyncio stream, with size limits, timeouts and TLS upgrade."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import struct

from .errors import PgError, SqlState

_FLUSH_AT = 64 * 1024
#: A result chunk is handed to the transport in slices of this size, each written straight to the
#: socket when it has room: one big write would be copied into the transport's buffer, which then
#: shifts what is left after every send.
_SLICE = 256 * 1024


class ClientGoneError(Exception):
    """The client closed the connection or sent something we cannot frame."""


class Channel:
    """One client's byte stream: framed reads and buffered writes with backpressure."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        max_message: int,
        write_timeout: float | None = None,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.max_message = max_message
        #: Seconds a write may wait for the client to take bytes; past it the connection ends (None: no limit).
        self.write_timeout = write_timeout
        #: A write timed out: nothing more can reach the client, and closing drops what is still queued.
        self.stalled = False
        self.tls = False
        #: Whether its StartupMessage has arrived (set by the handshake; a silent socket is the first to go).
        self.spoke = False
        self.opened_at = asyncio.get_running_loop().time()
        self._out: list[bytes | memoryview] = []
        self._queued = 0

    @property
    def peer(self) -> str:
        """Client address for logs."""
        peer = self.writer.get_extra_info("peername")
        return str(peer) if peer else "?"

    async def _read(self, n: int, timeout: float | None) -> bytes:
        try:
            if timeout is None:
                return await self.reader.readexactly(n)
            return await asyncio.wait_for(self.reader.readexactly(n), timeout)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise ClientGoneError("connection closed by client") from exc

    def _check_length(self, length: int, minimum: int) -> int:
        if length < minimum:
            raise PgError(SqlState.PROTOCOL_VIOLATION, f"invalid message length {length}", severity="FATAL")
        if length > self.max_message:
            raise PgError(
                SqlState.PROGRAM_LIMIT_EXCEEDED,
                f"message of {length} bytes exceeds the limit of {self.max_message} bytes",
                severity="FATAL",
            )
        return length

    async def read_startup(self, timeout: float | None) -> tuple[int, bytes]:
        """Read an untyped startup-phase packet: (request code, rest of payload)."""
        (length,) = struct.unpack("!i", await self._read(4, timeout))
        # Startup packets are small; PostgreSQL caps them at 10000 bytes.
        if length < 8 or length > 10000:
            raise PgError(SqlState.PROTOCOL_VIOLATION, "invalid length of startup packet", severity="FATAL")
        body = await self._read(length - 4, timeout)
        return struct.unpack("!i", body[:4])[0], body[4:]

    async def read_message(self, timeout: float | None = None) -> tuple[bytes, bytes]:
        """Read one typed message: (type byte, payload)."""
        head = await self._read(5, timeout)
        kind = head[:1]
        (length,) = struct.unpack("!i", head[1:])
        self._check_length(length, 4)
        return kind, await self._read(length - 4, timeout)

    def send(self, data: bytes | memoryview) -> None:
        """Queue bytes for the client (kept by reference until the next flush, not copied)."""
        if len(data):
            self._out.append(data)
            self._queued += len(data)

    @property
    def pending(self) -> int:
        """Bytes queued but not yet handed to the transport."""
        return self._queued

    async def flush(self) -> None:
        """Write the queued bytes and wait until the transport has room (backpressure)."""
        if self.stalled:
            raise ClientGoneError("the client stopped reading")
        queued, self._out, self._queued = self._out, [], 0
        try:
            for data in _coalesced(queued):
                view = memoryview(data).cast("B")
                for start in range(0, len(view), _SLICE):
                    self.writer.write(view[start : start + _SLICE])
                    await self._drain()
            await self._drain()
        except ConnectionError as exc:
            raise ClientGoneError("connection lost while writing") from exc
        except TimeoutError:
            # PostgreSQL waits for such a client until TCP gives up (tcp_user_timeout); here what it
            # holds (a result not read, a worker, a connection slot) goes back after a bound.
            self.stalled = True
            raise PgError(
                SqlState.CONNECTION_FAILURE,
                f"terminating connection because the client read nothing for {self.write_timeout:g} s",
                hint="Read results as they come, or ask the node's operator to raise sql_client_write_timeout.",
                severity="FATAL",
            ) from None

    async def _drain(self) -> None:
        # asyncio.timeout, not wait_for: no task per drain, and no turn of the loop when there is room.
        async with asyncio.timeout(self.write_timeout):
            await self.writer.drain()

    async def maybe_flush(self) -> None:
        """Flush only when enough output has accumulated."""
        if self._queued >= _FLUSH_AT:
            await self.flush()

    async def start_tls(self, context: ssl.SSLContext, timeout: float | None) -> None:
        """Upgrade the connection to TLS after answering an SSLRequest with 'S' (queued by the caller).

        Nothing may give the loop a turn between writing the 'S' and handing the socket to TLS: the
        client's ClientHello, read in that turn by the plain stream, would never reach the handshake,
        which would then hang until the startup timeout. So the 'S' is written without waiting for
        the transport, and the handshake runs under asyncio.timeout (wait_for would start a task).
        """
        if getattr(self.reader, "_buffer", b""):  # no public way to ask a StreamReader what it holds
            # Bytes the client sent before seeing the 'S' would be read as if they came over TLS
            # (PostgreSQL refuses them too: CVE-2021-23214).
            raise PgError(SqlState.PROTOCOL_VIOLATION, "received unencrypted data after SSL request", severity="FATAL")
        queued, self._out, self._queued = self._out, [], 0
        self.writer.write(b"".join(queued))
        try:
            async with asyncio.timeout(timeout):
                await self.writer.start_tls(context)
        except (ssl.SSLError, ConnectionError, OSError) as exc:
            raise ClientGoneError(
                f"TLS handshake failed: {str(exc) or 'no handshake within the startup timeout'}"
            ) from exc
        self.tls = True

    async def close(self) -> None:
        """Flush what we can and close the socket, never raising."""
        # The peer may already be gone; closing must never raise.
        with contextlib.suppress(Exception):
            if self._out and not self.writer.is_closing():
                self.writer.write(b"".join(self._out))
        self._out, self._queued = [], 0
        if self.stalled:
            # A client that reads nothing would keep the socket (and the bytes queued for it) forever.
            self.writer.transport.abort()
            return
        # close() first and synchronously, so that even a cancelled task leaves no open transport.
        self.writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer.wait_closed(), 2)
        # A closed TLS transport has no protocol left to ask (AttributeError), and nothing to drop.
        with contextlib.suppress(AttributeError):
            if self.writer.transport.get_write_buffer_size():
                self.writer.transport.abort()  # still flushing to a peer that does not read: drop it


def _coalesced(queued: list[bytes | memoryview]) -> list[bytes | memoryview]:
    """Runs of small messages joined into one write; big chunks kept as they are."""
    out: list[bytes | memoryview] = []
    small: list[bytes | memoryview] = []
    for data in queued:
        if len(data) < _SLICE:
            small.append(data)
            continue
        if small:
            out.append(b"".join(small))
            small = []
        out.append(data)
    if small:
        out.append(b"".join(small) if len(small) > 1 else small[0])
    return out
