"""API tokens: created once (the secret is shown only then), stored as SHA-256 hashes, expiring, revocable.

A token reads ``hxm_<id>_<secret>``. The id finds the row; the secret's hash is compared in
constant time. Unknown ids and wrong secrets get the same answer, so a caller learns nothing
about which tokens exist; expiry and revocation are only reported to the holder of the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Engine, String, Table, Text, insert, select, update

from hexmesh.errors import NotFoundError
from hexmesh.governance.exceptions import AuthenticationError
from hexmesh.governance.identity import Principal
from hexmesh.infra.state.records import now_us
from hexmesh.infra.state.schema import metadata

__all__ = ["TokenInfo", "api_tokens", "authenticate", "create_token", "expiry_us", "list_tokens", "revoke_token"]

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("secret_sha256", String(64), nullable=False),
    Column("name", Text, nullable=False),
    Column("principal", JSON, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger),
    Column("revoked_us", BigInteger),
)

_PREFIX = "hxm_"
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


#: Databases whose table exists: checking the catalog on every call would cost a query each time.
_READY: weakref.WeakSet[Engine] = weakref.WeakSet()


def _ensure(db: Engine) -> None:
    if db not in _READY:
        metadata.create_all(db, tables=[api_tokens])
        _READY.add(db)


def _digest(secret: str) -> str:
    # The secret carries 256 random bits, so a fast hash is enough: no dictionary to guess from.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    db: Engine, principal: Principal, *, name: str = "", ttl_us: int | None = None
) -> tuple[str, TokenInfo]:
    """A new token for ``principal``; returns the full token text (shown once) and its record."""
    if not principal.authenticated:
        raise ValueError("tokens are for real principals, not the anonymous one")
    if ttl_us is not None and ttl_us <= 0:
        raise ValueError(f"a token's lifetime must be positive, not {ttl_us} µs")
    _ensure(db)
    token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    created = now_us()
    info = TokenInfo(token_id, name, principal, created, created + ttl_us if ttl_us else None, None)
    with db.begin() as conn:
        conn.execute(
            insert(api_tokens).values(
                id=token_id,
                secret_sha256=_digest(secret),
                name=name,
                principal=principal.to_json(),
                created_us=created,
                expires_us=info.expires_us,
            )
        )
    return f"{_PREFIX}{token_id}_{secret}", info


def _info(row: Any) -> TokenInfo:
    return TokenInfo(
        row.id, row.name, Principal.from_json(row.principal), row.created_us, row.expires_us, row.revoked_us
    )


def authenticate(db: Engine, token: str, *, at_us: int | None = None) -> Principal:
    """The principal a token stands for, or AuthenticationError (unknown, expired or revoked)."""
    _ensure(db)
    token_id, _, secret = token.removeprefix(_PREFIX).partition("_")
    with db.connect() as conn:
        row = conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
    # Compare against a dummy digest when the id is unknown so both paths cost the same.
    expected = row.secret_sha256 if row is not None else "0" * 64
    if not hmac.compare_digest(expected, _digest(secret)) or row is None or not token.startswith(_PREFIX):
        raise AuthenticationError(_INVALID)
    now = now_us() if at_us is None else at_us
    if row.revoked_us is not None:
        raise AuthenticationError(f"token {token_id} was revoked; create a new one with `hexmesh token create`")
    if row.expires_us is not None and row.expires_us <= now:
        raise AuthenticationError(f"token {token_id} expired; create a new one with `hexmesh token create`")
    return Principal.from_json(row.principal)


def expiry_us(db: Engine, token: str) -> int | None:
    """When the token ``token`` names expires; None when it never does or is unknown (not an authentication)."""
    _ensure(db)
    token_id = token.removeprefix(_PREFIX).partition("_")[0]
    with db.connect() as conn:
        found = conn.execute(select(api_tokens.c.expires_us).where(api_tokens.c.id == token_id)).scalar()
    return None if found is None else int(found)


def list_tokens(db: Engine, principal_id: str | None = None) -> list[TokenInfo]:
    """Tokens, newest first, optionally of one principal id."""
    _ensure(db)
    with db.connect() as conn:
        rows = conn.execute(select(api_tokens).order_by(api_tokens.c.created_us.desc(), api_tokens.c.id)).all()
    infos = [_info(r) for r in rows]
    return [i for i in infos if principal_id is None or i.principal.id == principal_id]


def revoke_token(db: Engine, token_id: str) -> TokenInfo:
    """Revoke a token by id (idempotent); NotFoundError when no such token exists."""
    _ensure(db)
    with db.begin() as conn:
        conn.execute(
            update(api_tokens)
            .where(api_tokens.c.id == token_id, api_tokens.c.revoked_us.is_(None))
            .values(revoked_us=now_us())
        )
        row = conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
    if row is None:
        raise NotFoundError(f"no token with id {token_id!r}; `hexmesh token list` shows the ids")
    return _info(row)
