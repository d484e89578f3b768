"""Pluggable authentication: the Authenticator protocol and two ready-made policies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, Protocol

from .scram import ScramVerifier

__all__ = [
    "AuthMethod",
    "AuthenticationError",
    "Authenticator",
    "PasswordAuthenticator",
    "TrustAuthenticator",
]

AuthMethod = Literal["trust", "password", "scram-sha-256"]


class AuthenticationError(Exception):
    """Raised by an Authenticator to reject a user; the client sees SQLSTATE 28P01."""


class Authenticator(Protocol):
    """Host-provided policy deciding how a user authenticates and who they are afterwards.

    The server calls these methods in a worker thread, so they may block (e.g. look up an API
    token). A principal is any object; it is handed to the backend factory untouched.
    """

    def method(self, user: str, database: str) -> AuthMethod:
        """Which method this user must use."""
        ...

    def check_password(self, user: str, password: str) -> object:
        """Verify a cleartext password ("password" method); return the principal or raise."""
        ...

    def scram_verifier(self, user: str) -> ScramVerifier | None:
        """Stored SCRAM verifier of the user, or None if unknown ("scram-sha-256" method)."""
        ...

    def principal(self, user: str) -> object:
        """Principal of a user who passed "trust" or SCRAM; raise AuthenticationError to reject."""
        ...


class TrustAuthenticator:
    """Let everyone in under the user name they claim (tests, local sockets)."""

    def method(self, user: str, database: str) -> AuthMethod:
        """Always trust."""
        return "trust"

    def check_password(self, user: str, password: str) -> object:
        """Accept any password."""
        return user

    def scram_verifier(self, user: str) -> ScramVerifier | None:
        """Trust needs no verifier."""
        return None

    def principal(self, user: str) -> object:
        """The principal is the user name."""
        return user


class PasswordAuthenticator:
    """Users with passwords kept only as SCRAM verifiers; the principal is the user name."""

    def __init__(
        self,
        users: Mapping[str, str | ScramVerifier],
        method: AuthMethod = "scram-sha-256",
        *,
        iterations: int = 4096,
    ) -> None:
        self._method: AuthMethod = method
        self._verifiers = {
            user: v if isinstance(v, ScramVerifier) else ScramVerifier.from_password(v, iterations=iterations)
            for user, v in users.items()
        }

    def method(self, user: str, database: str) -> AuthMethod:
        """The configured method for every user."""
        return self._method

    def check_password(self, user: str, password: str) -> object:
        """Check a cleartext password against the stored verifier."""
        verifier = self._verifiers.get(user)
        if verifier is None or not verifier.matches(password):
            raise AuthenticationError(f'password authentication failed for user "{user}"')
        return user

    def scram_verifier(self, user: str) -> ScramVerifier | None:
        """The stored verifier."""
        return self._verifiers.get(user)

    def principal(self, user: str) -> object:
        """Known users only."""
        if user not in self._verifiers:
            raise AuthenticationError(f'password authentication failed for user "{user}"')
        return user
