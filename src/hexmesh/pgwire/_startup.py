"""Connection startup: SSL/GSS negotiation, cancel requests, authentication."""

from __future__ import annotations

import asyncio
import logging
import secrets
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from . import _messages as m
from ._channel import Channel, ClientGoneError
from .auth import AuthenticationError
from .errors import PgError, SqlState
from .scram import MECHANISM, ScramError, ScramExchange, ScramVerifier

if TYPE_CHECKING:
    from .server import PgServer

log = logging.getLogger("hexmesh.pgwire")
T = TypeVar("T")


@dataclass
class Startup:
    """Outcome of a successful startup: who connected, and with which parameters."""

    user: str
    database: str
    parameters: dict[str, str]
    principal: object


def _fatal(state: str, text: str, hint: str | None = None) -> PgError:
    return PgError(state, text, hint=hint, severity="FATAL")


class Handshake:
    """Runs the startup phase of one connection."""

    def __init__(self, server: PgServer, chan: Channel) -> None:
        self.server = server
        self.chan = chan
        self.timeout = server.limits.startup_timeout

    async def _in_thread(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.server.executor, fn, *args)

    async def run(self) -> Startup | None:
        """Negotiate and authenticate; None when the connection was only a cancel request."""
        while True:
            code, body = await self.chan.read_startup(self.timeout)
            if code == m.SSL_REQUEST:
                await self._ssl()
            elif code == m.GSSENC_REQUEST:
                self.chan.send(b"N")
                await self.chan.flush()
            elif code == m.CANCEL_REQUEST:
                if len(body) >= 8:
                    pid, secret = struct.unpack("!ii", body[:8])
                    self.server.cancel_backend(pid, secret)
                return None
            elif code >> 16 == 3:
                self.chan.spoke = True
                return await self._startup(code & 0xFFFF, m.parse_startup(body))
            else:
                raise _fatal(
                    SqlState.PROTOCOL_VIOLATION,
                    f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}",
                )

    async def _ssl(self) -> None:
        context = self.server.ssl_context
        if context is None or self.chan.tls:
            self.chan.send(b"N")
            await self.chan.flush()
            return
        self.chan.send(b"S")
        await self.chan.start_tls(context, self.timeout)

    async def _startup(self, minor: int, params: dict[str, str]) -> Startup:
        user = params.get("user", "")
        if not user:
            raise _fatal(
                SqlState.INVALID_AUTHORIZATION,
                "no PostgreSQL user name specified in startup packet",
            )
        if not self.server.admit(self.chan):
            raise _fatal(SqlState.TOO_MANY_CONNECTIONS, "sorry, too many clients already")
        unknown = [k for k in params if k.startswith("_pq_.")]
        if minor > 0 or unknown:
            self.chan.send(m.negotiate_protocol_version(0, unknown))
        database = params.get("database", user)
        principal = await self._authenticate(user, database)
        self.chan.send(m.auth(0))
        return Startup(user, database, params, principal)

    async def _authenticate(self, user: str, database: str) -> object:
        authn = self.server.authenticator
        method = await self._in_thread(authn.method, user, database)
        try:
            if method == "trust":
                return await self._in_thread(authn.principal, user)
            if method == "password":
                return await self._cleartext(user)
            if method == "scram-sha-256":
                return await self._scram(user)
        except (AuthenticationError, ScramError) as exc:
            log.info("authentication failed for user %r from %s: %s", user, self.chan.peer, exc)
            # An authenticator may opt in to telling the client why (a ``hint`` attribute); the
            # default says nothing that would tell an unknown user from a wrong password.
            raise _fatal(
                SqlState.INVALID_PASSWORD,
                f'password authentication failed for user "{user}"',
                hint=getattr(exc, "hint", None),
            ) from exc
        raise _fatal(SqlState.INVALID_AUTHORIZATION, f"unsupported authentication method {method!r}")

    async def _password_message(self) -> bytes:
        await self.chan.flush()
        kind, payload = await self.chan.read_message(self.timeout)
        if kind != b"p":
            raise _fatal(
                SqlState.PROTOCOL_VIOLATION,
                f"expected password response, got message type {kind!r}",
            )
        return payload

    async def _cleartext(self, user: str) -> object:
        if not self.chan.tls and not self.server.allow_cleartext_without_tls:
            raise _fatal(
                SqlState.INVALID_AUTHORIZATION,
                "password authentication requires an SSL connection",
                hint="Connect with sslmode=require (psqlODBC: SSLmode=require in the DSN).",
            )
        self.chan.send(m.auth(3))
        password = m.Reader(await self._password_message()).cstring()
        return await self._in_thread(self.server.authenticator.check_password, user, password)

    async def _scram(self, user: str) -> object:
        self.chan.send(m.auth(10, m.cstr(MECHANISM) + b"\0"))
        reader = m.Reader(await self._password_message())
        if reader.cstring() != MECHANISM:
            raise _fatal(SqlState.PROTOCOL_VIOLATION, "unsupported SASL mechanism")
        size = reader.int32()
        first = reader.raw(size) if size >= 0 else b""
        verifier = await self._in_thread(self.server.authenticator.scram_verifier, user)
        # Unknown users still get a full exchange so that they cannot be told apart.
        known = verifier is not None
        exchange = ScramExchange(verifier or ScramVerifier.from_password(secrets.token_hex(16)))
        try:
            self.chan.send(m.auth(11, exchange.server_first(first)))
            final = exchange.server_final(await self._password_message())
        except UnicodeDecodeError as exc:
            raise ScramError("SCRAM message is not UTF-8") from exc
        if not known:
            raise AuthenticationError(f"unknown user {user!r}")
        self.chan.send(m.auth(12, final))
        return await self._in_thread(self.server.authenticator.principal, user)


async def send_fatal(chan: Channel, err: PgError) -> None:
    """Send a FATAL error and swallow a dead peer."""
    try:
        chan.send(m.error_response(err))
        await chan.flush()
    except (ClientGoneError, ConnectionError, PgError):  # PgError: the client does not read (write timeout)
        pass
