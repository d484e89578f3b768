"""API tokens as the policy reads them: who a token stands for, and why one is refused.

The state store keeps hashes (:mod:`hexmesh.infra.state.tokens`); here a stored token becomes a
:class:`~hexmesh.governance.Principal`. Unknown ids and wrong secrets get the same answer, so a
caller learns nothing about which tokens exist; expiry and revocation are only reported to the
holder of the secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from hexmesh.governance import AuthenticationError, Principal
from hexmesh.infra.state import tokens as stored
from hexmesh.infra.state.records import now_us

__all__ = ["TokenInfo", "authenticate", "create_token", "expiry_us", "list_tokens", "revoke_token"]

_INVALID = "the token is not valid; create one with `hexmesh token create`"


@dataclass(frozen=True)
class TokenInfo:
    """What ``list`` shows about a token: never its secret."""

    id: str
    name: str
    principal: Principal
    created_us: int
    expires_us: int | None
    revoked_us: int | None

    def active(self, at_us: int) -> bool:
        return self.revoked_us is None and (self.expires_us is None or self.expires_us > at_us)


def _info(record: stored.TokenRecord) -> TokenInfo:
    principal = Principal.from_json(record.principal)
    return TokenInfo(record.id, record.name, principal, record.created_us, record.expires_us, record.revoked_us)


def create_token(
    db: Engine, principal: Principal, *, name: str = "", ttl_us: int | None = None
) -> tuple[str, TokenInfo]:
    """A new token for ``principal``; returns the full token text (shown once) and its record."""
    if not principal.authenticated:
        raise ValueError("tokens are for real principals, not the anonymous one")
    text, record = stored.store_token(db, principal.to_json(), name=name, ttl_us=ttl_us)
    return text, _info(record)


def authenticate(db: Engine, token: str, *, at_us: int | None = None) -> Principal:
    """The principal a token stands for, or AuthenticationError (unknown, expired or revoked)."""
    record = stored.find_token(db, token)
    if record is None:
        raise AuthenticationError(_INVALID)
    now = now_us() if at_us is None else at_us
    if record.revoked_us is not None:
        raise AuthenticationError(f"token {record.id} was revoked; create a new one with `hexmesh token create`")
    if record.expires_us is not None and record.expires_us <= now:
        raise AuthenticationError(f"token {record.id} expired; create a new one with `hexmesh token create`")
    return Principal.from_json(record.principal)


def expiry_us(db: Engine, token: str) -> int | None:
    """When the token ``token`` names expires; None when it never does or is unknown (not an authentication)."""
    return stored.expiry_us(db, token)


def list_tokens(db: Engine, principal_id: str | None = None) -> list[TokenInfo]:
    """Tokens, newest first, optionally of one principal id."""
    return [_info(r) for r in stored.list_tokens(db, principal_id)]


def revoke_token(db: Engine, token_id: str) -> TokenInfo:
    """Revoke a token by id (idempotent); NotFoundError when no such token exists."""
    return _info(stored.revoke_token(db, token_id))
