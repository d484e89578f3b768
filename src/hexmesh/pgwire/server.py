"""PgServer: accepts connections, enforces limits, routes cancel requests."""

from __future__ import annotations

import asyncio
import concurrent.futures
import hmac
import itertools
import logging
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._channel import Channel
from ._connection import Connection
from .auth import Authenticator, TrustAuthenticator
from .backend import BackendFactory

if TYPE_CHECKING:
    from ._startup import Startup

__all__ = ["Limits", "PgServer"]

log = logging.getLogger("hexmesh.pgwire")
# A socket silent for this long (seconds) in startup may be closed for a newcomer; a burst of real
# clients, whose StartupMessages are still unread, is younger than that.
_SILENT_GRACE = 0.5


@dataclass(frozen=True)
class Limits:
    """Resource limits; timeouts are in seconds, None disables them."""

    max_connections: int = 100
    idle_session_timeout: float | None = None
    #: Idle with a transaction open (portals, and the results they hold, stay open): PostgreSQL's 25P03.
    idle_in_transaction_timeout: float | None = None
    #: A client that takes no bytes of what is sent to it for this long is disconnected (08006).
    client_write_timeout: float | None = None
    statement_timeout: float | None = None
    startup_timeout: float = 10.0
    max_message_size: int = 64 * 1024 * 1024
    batch_rows: int = 8192
    #: Connections that have not sent their StartupMessage yet (idle, or mid-SSL): a new one closes the oldest.
    max_startup: int = 64


class PgServer:
    """An asyncio PostgreSQL v3 protocol server answering with a pluggable backend."""

    def __init__(
        self,
        backend_factory: BackendFactory,
        host: str = "127.0.0.1",
        port: int = 5432,
        authenticator: Authenticator | None = None,
        ssl_context: ssl.SSLContext | None = None,
        limits: Limits | None = None,
        *,
        server_version: str = "15.0 (hexmesh)",
        allow_cleartext_without_tls: bool = False,
        parameters: Mapping[str, str] | None = None,
    ) -> None:
        self.backend_factory = backend_factory
        self.host = host
        self._requested_port = port
        self.authenticator: Authenticator = authenticator or TrustAuthenticator()
        self.ssl_context = ssl_context
        self.limits = limits or Limits()
        self.server_version = server_version
        self.allow_cleartext_without_tls = allow_cleartext_without_tls
        self._extra_parameters = dict(parameters or {})
        # One thread per busy connection, plus a few for auth, cancel and close calls.
        self.executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.limits.max_connections + 4, thread_name_prefix="pgwire"
        )
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._channels: set[Channel] = set()
        # Channels still in startup, oldest first (dicts keep insertion order).
        self._starting: dict[Channel, None] = {}
        # Channels holding one of max_connections' slots: taken before authentication, so a
        # burst of slow logins cannot overshoot the limit.
        self._admitted: set[Channel] = set()
        self._sessions: dict[int, Connection] = {}
        self._pids = itertools.count(os.getpid() % 10000 * 1000 + 1)
        self._closing = False

    @property
    def port(self) -> int:
        """The bound TCP port (the real one when constructed with port 0)."""
        if self._server is None or not self._server.sockets:
            return self._requested_port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        """Bind and start accepting connections."""
        self._server = await asyncio.start_server(self._accept, self.host, self._requested_port, limit=2**16)
        log.info("pgwire listening on %s:%d", self.host, self.port)

    async def serve_forever(self) -> None:
        """Start if needed and serve until close() is called."""
        if self._server is None:
            await self.start()
        assert self._server is not None
        try:
            await self._server.serve_forever()
        except asyncio.CancelledError:
            # close() cancels serve_forever; that is a normal end, any other cancel is not.
            if not self._closing:
                raise

    async def close(self) -> None:
        """Stop listening, drop every connection and release worker threads."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        # Stop running statements and close sockets first: handlers then end by themselves.
        for conn in list(self._sessions.values()):
            conn.request_cancel("user")
        for chan in list(self._channels):
            chan.writer.close()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            await self._server.wait_closed()
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def __aenter__(self) -> PgServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        chan = Channel(reader, writer, self.limits.max_message_size, self.limits.client_write_timeout)
        silent = [c for c in self._starting if not c.spoke]
        if len(silent) >= self.limits.max_startup:
            # Idle or stalling sockets must not lock clients out: the oldest one that has stayed
            # silent a while (no StartupMessage; a real client sends it at once) gives way. Those
            # that sent it are bounded by max_connections (they hold a slot or get 53300).
            now = asyncio.get_running_loop().time()
            stale = [c for c in silent if now - c.opened_at >= _SILENT_GRACE]
            if stale:
                log.warning("closing connection from %s: silent in startup", stale[0].peer)
                self._starting.pop(stale[0], None)
                stale[0].writer.close()
            elif len(silent) >= 4 * self.limits.max_startup:
                log.warning("refusing connection from %s: too many connections in startup", chan.peer)
                await chan.close()
                self._tasks.discard(task)
                return
        self._channels.add(chan)
        self._starting[chan] = None
        try:
            await Connection(self, chan, next(self._pids)).serve()
        except asyncio.CancelledError:
            # Only close() cancels handlers; nobody awaits this task, so end it quietly.
            chan.writer.close()
        finally:
            self._channels.discard(chan)
            self._starting.pop(chan, None)
            self._admitted.discard(chan)
            self._tasks.discard(task)

    @property
    def connections(self) -> int:
        """Connections holding one of max_connections' slots now."""
        return len(self._admitted)

    def admit(self, chan: Channel) -> bool:
        """Take one of max_connections' slots for ``chan`` (before it authenticates); False when full."""
        if chan in self._admitted:
            return True
        if len(self._admitted) >= self.limits.max_connections:
            return False
        self._admitted.add(chan)
        return True

    def release(self, chan: Channel) -> None:
        """``chan``'s session is ending: its slot is free for the next client at once."""
        self._admitted.discard(chan)

    def started(self, chan: Channel) -> None:
        """``chan`` finished its startup (a session now, or a cancel request): no longer negotiating."""
        self._starting.pop(chan, None)

    def register(self, conn: Connection) -> None:
        """Make a session reachable by CancelRequest."""
        self._sessions[conn.pid] = conn

    def unregister(self, conn: Connection) -> None:
        """Forget a closed session."""
        if self._sessions.get(conn.pid) is conn:
            del self._sessions[conn.pid]

    def cancel_backend(self, pid: int, secret: int) -> None:
        """Handle a CancelRequest: cancel the session's running statement if the key matches."""
        conn = self._sessions.get(pid)
        if conn is None or not hmac.compare_digest(conn.secret.to_bytes(4), secret.to_bytes(4, signed=True)):
            log.info("ignoring cancel request with unknown key for pid %d", pid)
            return
        conn.request_cancel("user")

    def parameter_status(self, startup: Startup) -> dict[str, str]:
        """ParameterStatus values sent after authentication, like PostgreSQL 15."""
        params = {
            "application_name": startup.parameters.get("application_name", ""),
            "client_encoding": "UTF8",
            "DateStyle": "ISO, MDY",
            "default_transaction_read_only": "on",
            "in_hot_standby": "off",
            "integer_datetimes": "on",
            "IntervalStyle": "postgres",
            "is_superuser": "off",
            "server_encoding": "UTF8",
            "server_version": self.server_version,
            "session_authorization": startup.user,
            "standard_conforming_strings": "on",
            "TimeZone": "UTC",
        }
        params.update(self._extra_parameters)
        return params
