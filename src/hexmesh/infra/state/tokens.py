"""Stored API tokens: SHA-256 hashes of their secrets, who they stand for, expiry and revocation.

A token reads ``hxm_<id>_<secret>``. The id finds the row; the secret's hash is compared in
constant time, and an unknown id costs the same as a wrong secret. What a token means (a
principal, refused when expired or revoked) is the policy's: :mod:`hexmesh.product.policy.tokens`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select, update

from hexmesh.errors import NotFoundError
from hexmesh.infra.state.records import now_us
from hexmesh.infra.state.schema import api_tokens

__all__ = [
    "PREFIX",
    "TokenRecord",
    "api_tokens",
    "expiry_us",
    "find_token",
    "list_tokens",
    "revoke_token",
    "store_token",
]


#: How a token starts.
PREFIX = "hxm_"


@dataclass(frozen=True)
class TokenRecord:
    """A stored token, never its secret; ``principal`` is who it stands for, as JSON."""

    id: str
    name: str
    principal: dict[str, Any]
    created_us: int
    expires_us: int | None
    revoked_us: int | None


def _digest(secret: str) -> str:
    # The secret carries 256 random bits, so a fast hash is enough: no dictionary to guess from.
    return hashlib.sha256(secret.encode()).hexdigest()


def _record(row: Any) -> TokenRecord:
    return TokenRecord(row.id, row.name, dict(row.principal), row.created_us, row.expires_us, row.revoked_us)


def store_token(
    db: Engine, principal: dict[str, Any], *, name: str = "", ttl_us: int | None = None
) -> tuple[str, TokenRecord]:
    """A new token for ``principal``: its full text (shown once; only its hash is kept) and its record."""
    if ttl_us is not None and ttl_us <= 0:
        raise ValueError(f"a token's lifetime must be positive, not {ttl_us} µs")
    token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    created = now_us()
    record = TokenRecord(token_id, name, principal, created, created + ttl_us if ttl_us else None, None)
    with db.begin() as conn:
        conn.execute(
            insert(api_tokens).values(
                id=token_id,
                secret_sha256=_digest(secret),
                name=name,
                principal=principal,
                created_us=created,
                expires_us=record.expires_us,
            )
        )
    return f"{PREFIX}{token_id}_{secret}", record


def find_token(db: Engine, token: str) -> TokenRecord | None:
    """The record of ``token`` when its secret matches (expired or revoked ones too), else None."""
    token_id, _, secret = token.removeprefix(PREFIX).partition("_")
    with db.connect() as conn:
        row = conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
    # Compare against a dummy digest when the id is unknown so both paths cost the same.
    expected = row.secret_sha256 if row is not None else "0" * 64
    if not hmac.compare_digest(expected, _digest(secret)) or row is None or not token.startswith(PREFIX):
        return None
    return _record(row)


def expiry_us(db: Engine, token: str) -> int | None:
    """When the token ``token`` names expires; None when it never does or is unknown (not an authentication)."""
    token_id = token.removeprefix(PREFIX).partition("_")[0]
    with db.connect() as conn:
        found = conn.execute(select(api_tokens.c.expires_us).where(api_tokens.c.id == token_id)).scalar()
    return None if found is None else int(found)


def list_tokens(db: Engine, principal_id: str | None = None) -> list[TokenRecord]:
    """Tokens, newest first, optionally of one principal id."""
    with db.connect() as conn:
        rows = conn.execute(select(api_tokens).order_by(api_tokens.c.created_us.desc(), api_tokens.c.id)).all()
    records = [_record(r) for r in rows]
    return [r for r in records if principal_id is None or r.principal.get("id") == principal_id]


def revoke_token(db: Engine, token_id: str) -> TokenRecord:
    """Revoke a token by id (idempotent); NotFoundError when no such token exists."""
    with db.begin() as conn:
        conn.execute(
            update(api_tokens)
            .where(api_tokens.c.id == token_id, api_tokens.c.revoked_us.is_(None))
            .values(revoked_us=now_us())
        )
        row = conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
    if row is None:
        raise NotFoundError(f"no token with id {token_id!r}; `hexmesh token list` shows the ids")
    return _record(row)
