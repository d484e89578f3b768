"""Logging in to the SQL port with an API token as the password.

``psql "host=… user=ann sslmode=require"`` and the token (``hxm_…``) as the password. The server
asks for the password in clear text, so the connection must be TLS (pass ``ssl_context`` to
:func:`~hexmesh.product.sql.start_sql_port`); pgwire refuses cleartext passwords without TLS
unless the server is told otherwise (tests on loopback). SCRAM cannot be offered: it needs a
verifier derived from the password, and only the token's SHA-256 is stored.

The user name is informational: the token alone says who the caller is. A wrong, expired or
revoked token is refused with 28P01 and a hint saying which (only the holder of a right secret
learns that it expired or was revoked).
"""

from __future__ import annotations

from hexmesh.governance import AuthenticationError, Principal
from hexmesh.pgwire import AuthenticationError as PgAuthenticationError
from hexmesh.pgwire.auth import AuthMethod
from hexmesh.pgwire.scram import ScramVerifier
from hexmesh.product.policy.sidecar import PolicySidecar

__all__ = ["TokenAuthenticator", "TokenRejectedError"]


class TokenRejectedError(PgAuthenticationError):
    """A token the sidecar refused; pgwire shows ``hint`` to the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.hint = reason


class TokenAuthenticator:
    """A pgwire Authenticator: the password is an API token, the principal the token's."""

    def __init__(self, sidecar: PolicySidecar) -> None:
        self.sidecar = sidecar

    def method(self, user: str, database: str) -> AuthMethod:
        """Cleartext password (over TLS): the server needs the token itself to check its hash."""
        return "password"

    def check_password(self, user: str, password: str) -> Principal:
        """The token's principal, or TokenRejectedError (28P01) saying why."""
        try:
            return self.sidecar.authenticate(password.strip()) if password.strip() else self._empty()
        except AuthenticationError as exc:
            raise TokenRejectedError(str(exc)) from None

    def _empty(self) -> Principal:
        raise AuthenticationError("no token given: use an API token (hxm_…) as the password")

    def scram_verifier(self, user: str) -> ScramVerifier | None:
        """Tokens are stored as hashes, so there is no SCRAM verifier."""
        return None

    def principal(self, user: str) -> Principal:
        """Only reached for trust or SCRAM, which this authenticator never asks for."""
        raise TokenRejectedError("the SQL port needs an API token (hxm_…) as the password")
