"""A cluster's clear-text operator tokens, kept as SHA-256 hashes in the shared state store.

An operator token (``tokens.yaml``, ``HEXMESH_TOKENS``) is a node's setting; in a cluster each
node must honour the same ones, so every node puts the hashes of its own here when it opens the
shared state, and looks a presented token up by its hash. What a token may do (its role and
products) is the control port's: :class:`hexmesh.product.control.Tokens`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from hexmesh.infra.state.records import now_us
from hexmesh.infra.state.schema import operator_tokens

__all__ = [
    "OperatorToken",
    "add_operator_tokens",
    "clear_operator_tokens",
    "find_operator_token",
    "list_operator_tokens",
]


@dataclass(frozen=True)
class OperatorToken:
    """Who an operator token stands for; never the token."""

    name: str
    role: str
    products: tuple[str, ...] = ()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_operator_tokens(db: Engine, tokens: dict[str, OperatorToken], by: str) -> int:
    """Store the hashes of ``tokens`` not stored yet (a stored one keeps its meaning); how many were new."""
    added = 0
    for token, meaning in tokens.items():
        values = {
            "token_sha256": _digest(token),
            "name": meaning.name,
            "role": meaning.role,
            "products": list(meaning.products),
            "added_by": by,
            "created_us": now_us(),
        }
        try:
            with db.begin() as conn:
                conn.execute(insert(operator_tokens).values(**values))
            added += 1
        except IntegrityError:  # this or another node stored it already
            continue
    return added


def find_operator_token(db: Engine, token: str) -> OperatorToken | None:
    """What ``token`` stands for, None when no node stored it."""
    with db.connect() as conn:
        row = conn.execute(select(operator_tokens).where(operator_tokens.c.token_sha256 == _digest(token))).first()
    return None if row is None else OperatorToken(row.name, row.role, tuple(row.products))


def list_operator_tokens(db: Engine) -> list[OperatorToken]:
    with db.connect() as conn:
        rows = conn.execute(select(operator_tokens).order_by(operator_tokens.c.created_us)).all()
    return [OperatorToken(row.name, row.role, tuple(row.products)) for row in rows]


def clear_operator_tokens(db: Engine) -> int:
    """Forget every stored operator token (they were replaced by API tokens); how many there were."""
    with db.begin() as conn:
        return conn.execute(delete(operator_tokens)).rowcount
