"""Revisions of a product's policies replaced over the control port: appended, never changed.

Revision numbers count per product major from 1; revision 0 is the deployed spec's policies. A
rollback is a new revision holding an older one's policies (or null: back to the spec's), so the
history says who changed what, when, in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from hexmesh.infra.state.records import now_us
from hexmesh.infra.state.schema import policy_revisions

__all__ = ["PolicyRevision", "add_revision", "latest_revision", "revisions"]


@dataclass(frozen=True)
class PolicyRevision:
    """One change: ``policies`` in the descriptor's form (None: the deployed spec's)."""

    product: str
    major: int
    revision: int
    policies: dict[str, Any] | None
    action: str
    actor: str
    created_us: int


def _of(row: Any) -> PolicyRevision:
    return PolicyRevision(row.product, row.major, row.revision, row.policies, row.action, row.actor, row.created_us)


def add_revision(
    engine: Engine, product: str, major: int, policies: dict[str, Any] | None, *, action: str, actor: str
) -> PolicyRevision:
    """Append the next revision of ``product``'s policies at ``major``; two writers never share a number."""
    for _ in range(20):
        with engine.connect() as conn:
            last = conn.execute(
                select(func.max(policy_revisions.c.revision)).where(
                    policy_revisions.c.product == product, policy_revisions.c.major == major
                )
            ).scalar()
        made = PolicyRevision(product, major, int(last or 0) + 1, policies, action, actor, now_us())
        try:
            with engine.begin() as conn:
                conn.execute(insert(policy_revisions).values(**made.__dict__))
        except IntegrityError:
            continue  # another writer took the number: take the next
        return made
    raise RuntimeError(f"the policies of {product} are too busy: 20 attempts to add a revision lost the race")


def revisions(engine: Engine, product: str, major: int) -> list[PolicyRevision]:
    """Every revision of ``product``'s policies at ``major``, oldest first."""
    query = (
        select(policy_revisions)
        .where(policy_revisions.c.product == product, policy_revisions.c.major == major)
        .order_by(policy_revisions.c.revision)
    )
    with engine.connect() as conn:
        return [_of(row) for row in conn.execute(query)]


def latest_revision(engine: Engine, product: str, major: int) -> PolicyRevision | None:
    """The newest revision, or None when the policies were never replaced."""
    query = (
        select(policy_revisions)
        .where(policy_revisions.c.product == product, policy_revisions.c.major == major)
        .order_by(policy_revisions.c.revision.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else _of(row)
