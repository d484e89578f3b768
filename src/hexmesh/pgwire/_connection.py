"""One client connection after startup: message loop, backend calls, cancel and timeouts."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from itertools import pairwise
from typing import TYPE_CHECKING, Any, TypeVar

from . import _messages as m
from ._channel import Channel, ClientGoneError
from ._dispatch import message_loop
from ._portal import Portal, Statement
from ._startup import Handshake, Startup, send_fatal
from ._txn import Transaction
from .backend import CommandResult, Session, SessionContext
from .errors import PgError, SqlState

if TYPE_CHECKING:
    from .server import PgServer

log = logging.getLogger("hexmesh.pgwire")
T = TypeVar("T")

# How long a backend may keep running after cancel() before we give up on the session.
CANCEL_GRACE = 10.0
# How often a running backend call is checked for cancel and statement timeout.
_POLL = 0.2
_CANCEL_TEXT = {
    "user": "canceling statement due to user request",
    "timeout": "canceling statement due to statement timeout",
}


#: Startup parameters that are settings the session applies (PostgreSQL takes every GUC; the backend
#: knows these). Clients send them directly (pgjdbc: ``TimeZone``) or in ``options`` (``-c TimeZone=…``).
_SETTINGS = {"timezone": "TimeZone"}


def startup_settings(parameters: dict[str, str]) -> list[tuple[str, str]]:
    """The settings a client asked for at startup, as (name, value), ``options``' ``-c`` ones last."""
    found = {_SETTINGS[k.lower()]: v for k, v in parameters.items() if k.lower() in _SETTINGS}
    words = parameters.get("options", "").replace("--", "-c ").split()
    for flag, pair in pairwise(words):
        name, sep, value = pair.partition("=")
        if flag == "-c" and sep and name.lower() in _SETTINGS:
            found[_SETTINGS[name.lower()]] = value
    return list(found.items())


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class Connection:
    """Protocol state of one client: session, prepared statements, portals, transaction."""

    def __init__(self, server: PgServer, chan: Channel, pid: int) -> None:
        self.server = server
        self.chan = chan
        self.pid = pid
        self.secret = secrets.randbits(31)
        self.session: Session | None = None
        self.ctx: SessionContext | None = None
        self.txn = Transaction()
        self.statements: dict[str, Statement] = {}
        self.portals: dict[str, Portal] = {}
        self.skip_until_sync = False
        self.busy = False
        #: Counts statements; a cancel is delivered only to the statement it was meant for.
        self.statement_seq = 0
        self.cancel_reason: str | None = None
        self.deadline: float | None = None

    async def serve(self) -> None:
        """Run the connection to its end; never raises."""
        try:
            startup = await Handshake(self.server, self.chan).run()
            self.server.started(self.chan)
            if startup is not None:
                await self._open(startup)
                await message_loop(self)
        except PgError as err:
            log.info("closing connection from %s: %s %s", self.chan.peer, err.sqlstate, err.message)
            await send_fatal(self.chan, err)
        except ClientGoneError as exc:
            log.debug("client %s gone: %s", self.chan.peer, exc)
        except TimeoutError:
            await send_fatal(self.chan, PgError("08006", "timeout during startup", severity="FATAL"))
        except Exception:
            log.exception("connection from %s failed", self.chan.peer)
            await send_fatal(self.chan, PgError(SqlState.INTERNAL_ERROR, "internal error", severity="FATAL"))
        finally:
            await self._cleanup()

    async def _open(self, startup: Startup) -> None:
        self.ctx = SessionContext(
            startup.user,
            startup.database,
            startup.parameters,
            startup.principal,
            self.pid,
            statement_timeout=self.server.limits.statement_timeout,
        )
        reported: dict[str, str] = {}
        try:
            self.session = await self.in_thread(self.server.backend_factory, self.ctx)
            # A setting asked for at startup is a SET before the first statement, as in PostgreSQL.
            for name, value in startup_settings(startup.parameters):
                result = await self.in_thread(self.session.execute, f"SET {name} TO {_literal(value)}", [])
                if isinstance(result, CommandResult):
                    reported.update(result.reported)
        except PgError as err:
            raise PgError(err.sqlstate, err.message, err.detail, err.hint, severity="FATAL") from err
        for name, value in {**self.server.parameter_status(startup), **reported}.items():
            self.chan.send(m.parameter_status(name, value))
        self.chan.send(m.backend_key_data(self.pid, self.secret))
        self.server.register(self)
        self.send_ready()
        await self.chan.flush()

    async def _cleanup(self) -> None:
        self.server.unregister(self)
        self.server.release(self.chan)
        self.chan.writer.close()
        try:
            for portal in self.portals.values():
                portal.close()
        except Exception:
            log.debug("closing a portal failed", exc_info=True)
        self.portals.clear()
        try:
            if self.session is not None:
                session, self.session = self.session, None
                await self.in_thread(session.close)
        except Exception:
            log.warning("backend session close failed", exc_info=True)
        finally:
            await self.chan.close()

    async def in_thread(self, fn: Callable[..., T], *args: object) -> T:
        """Run a blocking call in the server's worker pool."""
        return await asyncio.get_running_loop().run_in_executor(self.server.executor, fn, *args)

    def send_ready(self) -> None:
        """Queue ReadyForQuery with the current transaction status."""
        self.chan.send(m.ready_for_query(self.txn.status))

    def send_error(self, err: PgError) -> None:
        """Queue an ErrorResponse; a failure inside a transaction block aborts it."""
        self.flush_notices()
        self.chan.send(m.error_response(err))
        self.txn.failed()

    def flush_notices(self) -> None:
        """Queue the notices the backend produced."""
        if self.ctx is None:
            return
        for n in self.ctx.take_notices():
            self.chan.send(m.notice_or_error(b"N", n.severity, n.sqlstate, n.message, n.detail, n.hint))

    # Statement lifecycle: busy from the first backend call to the end of the result.

    def begin_statement(self) -> None:
        """Mark a statement as running and arm the statement timeout."""
        self.busy = True
        self.statement_seq += 1
        self.cancel_reason = None
        timeout = self.ctx.statement_timeout if self.ctx is not None else None
        loop = asyncio.get_running_loop()
        self.deadline = loop.time() + timeout if timeout else None

    def end_statement(self) -> None:
        """The statement finished (or was suspended)."""
        self.busy = False
        self.deadline = None

    def request_cancel(self, reason: str) -> None:
        """Cancel the running statement (from a CancelRequest or the timeout)."""
        if not self.busy or self.session is None or self.cancel_reason is not None:
            return
        self.cancel_reason = reason
        self._send_cancel()

    def _send_cancel(self) -> None:
        session = self.session
        if session is None:
            return
        seq = self.statement_seq

        def cancel() -> None:
            # The call waits in the executor's queue: by the time it runs, the statement it was
            # sent for may have ended, and a late cancel must not hit the session's next one.
            if self.busy and self.statement_seq == seq:
                session.cancel()

        future = asyncio.get_running_loop().run_in_executor(self.server.executor, cancel)
        future.add_done_callback(_log_failure)

    def check_cancelled(self) -> None:
        """Raise 57014 if the statement was cancelled or ran out of time."""
        if self.deadline is not None and asyncio.get_running_loop().time() >= self.deadline:
            self.request_cancel("timeout")
        if self.cancel_reason is not None:
            raise PgError(SqlState.QUERY_CANCELED, _CANCEL_TEXT[self.cancel_reason])

    async def call(self, fn: Callable[..., T], *args: object) -> T:
        """Run a backend call in a thread, honouring cancel and statement timeout."""
        loop = asyncio.get_running_loop()
        self.check_cancelled()
        future = loop.run_in_executor(self.server.executor, fn, *args)
        give_up: float | None = None
        try:
            while not future.done():
                await asyncio.wait({future}, timeout=_POLL)
                if future.done():
                    break
                if self.deadline is not None and loop.time() >= self.deadline:
                    self.request_cancel("timeout")
                if self.cancel_reason is not None:
                    give_up = give_up or loop.time() + CANCEL_GRACE
                    if loop.time() >= give_up:
                        raise PgError(
                            SqlState.QUERY_CANCELED,
                            "terminating connection because the backend did not stop after cancel",
                            severity="FATAL",
                        )
                    # Repeat: a cancel that raced ahead of the backend's work may have been lost.
                    self._send_cancel()
            if self.cancel_reason is not None:
                _discard(future)
                self.check_cancelled()
            return future.result()
        except PgError:
            raise
        except Exception as exc:
            log.exception("backend call %s failed", getattr(fn, "__name__", fn))
            raise PgError(SqlState.INTERNAL_ERROR, f"internal error in backend: {type(exc).__name__}: {exc}") from exc
        finally:
            self.flush_notices()


def _discard(future: asyncio.Future[Any]) -> None:
    if future.done() and not future.cancelled():
        future.exception()


def _log_failure(future: asyncio.Future[None]) -> None:
    exc = future.exception()
    if exc is not None:
        log.warning("backend cancel() failed: %s", exc)
