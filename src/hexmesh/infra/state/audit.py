"""The append-only audit log: access decisions and control actions, hash-chained against tampering.

Each entry's hash covers its content and the previous entry's hash, so editing or deleting a
row breaks the chain from there on (:func:`verify` says where). There is no update or delete
function on purpose. The chain head is unique, so two writers cannot fork it: the loser retries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, insert, or_, select
from sqlalchemy.exc import IntegrityError

from hexmesh.infra.state.records import now_us
from hexmesh.infra.state.schema import audit_log

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["AuditEntry", "append", "audit_log", "query", "to_arrow", "verify"]


_GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    """One audited event: who did what to which resource, for what purpose, and the outcome."""

    actor: str
    action: str
    resource: str
    decision: str
    """allow, deny, or the outcome of a control action (approved, revoked, forgotten, ...)."""
    purpose: str = ""
    policy_ids: Sequence[str] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    at_us: int = 0
    seq: int = 0


def _hash(prev: str, entry: AuditEntry, at_us: int) -> str:
    body = json.dumps(
        [
            prev,
            at_us,
            entry.actor,
            entry.action,
            entry.resource,
            entry.purpose,
            entry.decision,
            list(entry.policy_ids),
            dict(entry.details),
        ],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def append(db: Engine, entry: AuditEntry) -> AuditEntry:
    """Append one entry at the head of the chain; returns it with its time and sequence number."""
    for _ in range(20):
        with db.connect() as conn:
            head = conn.execute(select(audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)).scalar()
        prev = head or _GENESIS
        at = now_us()
        try:
            with db.begin() as conn:
                seq = conn.execute(
                    insert(audit_log).values(
                        at_us=at,
                        actor=entry.actor,
                        action=entry.action,
                        resource=entry.resource,
                        purpose=entry.purpose,
                        decision=entry.decision,
                        policy_ids=list(entry.policy_ids),
                        details=dict(entry.details),
                        prev_hash=prev,
                        hash=_hash(prev, entry, at),
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
        except IntegrityError:
            continue  # another writer extended the chain from the same head; rebase and retry
        return AuditEntry(
            entry.actor,
            entry.action,
            entry.resource,
            entry.decision,
            entry.purpose,
            tuple(entry.policy_ids),
            dict(entry.details),
            at,
            int(seq),
        )
    raise RuntimeError("the audit log is too busy: 20 attempts to append lost the race")


def query(
    db: Engine,
    *,
    resource_prefix: str | None = None,
    under: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since_us: int | None = None,
    limit: int = 1000,
    newest: bool = False,
) -> list[AuditEntry]:
    """Entries, oldest first, filtered by resource prefix (a product or port address), actor, action, time.

    ``under`` is a resource and everything below it: ``dp://sales/shop`` matches the product and
    ``dp://sales/shop/orders`` (its port), not ``dp://sales/shop-v2``. Every entry about a product or
    a port is keyed ``dp://…``; entries written before that (reads keyed ``sales/shop/orders``)
    are matched too. With ``newest`` the limit
    keeps the newest entries (still returned oldest first).
    """
    order = audit_log.c.seq.desc() if newest else audit_log.c.seq
    stmt = select(audit_log).order_by(order).limit(limit)
    if resource_prefix is not None:
        stmt = stmt.where(audit_log.c.resource.startswith(resource_prefix, autoescape=True))
    if under is not None:
        # Reads and access steps were once keyed ``domain/name/port`` (without ``dp://``): still found.
        forms = {under, under.removeprefix("dp://")} if under.startswith("dp://") else {under}
        condition = or_(
            *(
                (audit_log.c.resource == form)
                | audit_log.c.resource.startswith(form.rstrip("/") + "/", autoescape=True)
                for form in sorted(forms)
            )
        )
        stmt = stmt.where(condition)
    if actor is not None:
        stmt = stmt.where(audit_log.c.actor == actor)
    if action is not None:
        stmt = stmt.where(audit_log.c.action == action)
    if since_us is not None:
        stmt = stmt.where(audit_log.c.at_us >= since_us)
    with db.connect() as conn:
        found = [
            AuditEntry(
                r.actor, r.action, r.resource, r.decision, r.purpose, tuple(r.policy_ids), r.details, r.at_us, r.seq
            )
            for r in conn.execute(stmt)
        ]
    return found[::-1] if newest else found


def to_arrow(entries: Sequence[AuditEntry]) -> pa.Table:
    """Entries as an Arrow table, for owners who query the log as a table (SQL, files)."""
    import pyarrow as pa  # only the audit view reads entries as Arrow

    return pa.table(
        {
            "seq": pa.array([e.seq for e in entries], pa.int64()),
            "at": pa.array([e.at_us for e in entries], pa.timestamp("us", tz="UTC")),
            "actor": [e.actor for e in entries],
            "action": [e.action for e in entries],
            "resource": [e.resource for e in entries],
            "purpose": [e.purpose for e in entries],
            "decision": [e.decision for e in entries],
            "policy_ids": pa.array([list(e.policy_ids) for e in entries], pa.list_(pa.string())),
            "details": [json.dumps(dict(e.details), sort_keys=True, default=str) for e in entries],
        }
    )


def verify(db: Engine) -> int | None:
    """Walk the chain; None when intact, else the sequence number of the first bad entry."""
    prev = _GENESIS
    with db.connect() as conn:
        for r in conn.execute(select(audit_log).order_by(audit_log.c.seq)):
            entry = AuditEntry(r.actor, r.action, r.resource, r.decision, r.purpose, tuple(r.policy_ids), r.details)
            if r.prev_hash != prev or r.hash != _hash(prev, entry, r.at_us):
                return int(r.seq)
            prev = r.hash
    return None
