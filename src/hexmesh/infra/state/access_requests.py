"""Access requests in the state store; every step is audited."""

from __future__ import annotations

import uuid
import weakref
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Engine, Index, String, Table, Text, insert, select, update

from hexmesh.errors import NotFoundError
from hexmesh.governance.access import Decision
from hexmesh.governance.grants import AccessRequest, active_grants, approve, deny, new_request, revoke
from hexmesh.governance.identity import Principal
from hexmesh.infra.state import audit
from hexmesh.infra.state.records import now_us
from hexmesh.infra.state.schema import metadata
from hexmesh.spec.policies import AccessRule

__all__ = ["access_requests", "decide_request", "get_request", "grants", "list_requests", "submit_request"]

access_requests = Table(
    "access_requests",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("principal", JSON, nullable=False),
    Column("product", String(140), nullable=False),
    Column("port", String(63), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("note", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("requested_us", BigInteger, nullable=False),
    Column("decided_by", Text),
    Column("decision_note", Text, nullable=False),
    Column("decided_us", BigInteger),
    Column("expires_us", BigInteger),
    Index("ix_access_requests_product", "product", "port", "status"),
)


#: Databases whose table exists: checking the catalog on every call would cost a query each time.
_READY: weakref.WeakSet[Engine] = weakref.WeakSet()


def _ensure(db: Engine) -> None:
    if db not in _READY:
        metadata.create_all(db, tables=[access_requests])
        _READY.add(db)


def _record(row: Any) -> AccessRequest:
    return AccessRequest(
        row.id,
        Principal.from_json(row.principal),
        row.product,
        row.port,
        row.purpose,
        row.note,
        row.status,
        row.requested_us,
        row.decided_by,
        row.decision_note,
        row.decided_us,
        row.expires_us,
    )


def _audit(db: Engine, actor: str, request: AccessRequest, step: str, policy_ids: tuple[str, ...]) -> None:
    audit.append(
        db,
        audit.AuditEntry(
            actor=actor,
            action=f"access.{step}",
            resource=f"dp://{request.product}/{request.port}",
            decision=request.status,
            purpose=request.purpose,
            policy_ids=policy_ids,
            details={
                "request": request.id,
                "note": request.decision_note or request.note,
                "expires_us": request.expires_us,
            },
        ),
    )


def submit_request(
    db: Engine, principal: Principal, product: str, port: str, purpose: str, note: str, decision: Decision
) -> AccessRequest:
    """Store a new pending request (``decision``: the policy decider's answer to ``requestAccess``)."""
    _ensure(db)
    request = new_request(str(uuid.uuid4()), principal, product, port, purpose, note, decision, now_us())
    with db.begin() as conn:
        conn.execute(
            insert(access_requests).values(
                id=request.id,
                principal=principal.to_json(),
                product=product,
                port=port,
                purpose=request.purpose,
                note=note,
                status="pending",
                requested_us=request.requested_us,
                decision_note="",
            )
        )
    _audit(db, principal.key, request, "request", decision.policy_ids)
    return request


def get_request(db: Engine, request_id: str) -> AccessRequest:
    _ensure(db)
    with db.connect() as conn:
        row = conn.execute(select(access_requests).where(access_requests.c.id == request_id)).first()
    if row is None:
        raise NotFoundError(f"no access request {request_id!r}; `hexmesh access list` shows them")
    return _record(row)


def decide_request(
    db: Engine,
    request_id: str,
    decider: Principal,
    control: Decision,
    *,
    verdict: str,
    note: str,
    duration_us: int = 90 * 24 * 3600 * 1_000_000,
) -> AccessRequest:
    """Approve, deny or revoke (``verdict``) a request; ``control``: the policy decider's answer to ``control``."""
    current = get_request(db, request_id)
    at = now_us()
    if verdict == "approve":
        decided = approve(current, decider, control, note, at, duration_us)
    elif verdict == "deny":
        decided = deny(current, decider, control, note, at)
    elif verdict == "revoke":
        decided = revoke(current, decider, control, note, at)
    else:
        raise ValueError(f"verdict {verdict!r} is not approve, deny or revoke")
    with db.begin() as conn:
        # The status guard makes concurrent decisions safe: only one of them changes the row.
        changed = conn.execute(
            update(access_requests)
            .where(access_requests.c.id == request_id, access_requests.c.status == current.status)
            .values(
                status=decided.status,
                decided_by=decided.decided_by,
                decision_note=decided.decision_note,
                decided_us=decided.decided_us,
                expires_us=decided.expires_us,
            )
        ).rowcount
    if not changed:
        return decide_request(db, request_id, decider, control, verdict=verdict, note=note, duration_us=duration_us)
    _audit(db, decider.key, decided, verdict, control.policy_ids)
    return decided


def list_requests(
    db: Engine, *, product: str | None = None, status: str | None = None, principal_id: str | None = None
) -> list[AccessRequest]:
    """Requests, newest first."""
    _ensure(db)
    stmt = select(access_requests).order_by(access_requests.c.requested_us.desc())
    if product is not None:
        stmt = stmt.where(access_requests.c.product == product)
    if status is not None:
        stmt = stmt.where(access_requests.c.status == status)
    with db.connect() as conn:
        found = [_record(r) for r in conn.execute(stmt)]
    return [r for r in found if principal_id is None or r.principal.id == principal_id]


def grants(db: Engine, product: str, *, at_us: int | None = None) -> list[tuple[str, AccessRule]]:
    """The live grants of a product, ready for ``PolicyDecider(grants=...)``."""
    return active_grants(list_requests(db, product=product, status="approved"), now_us() if at_us is None else at_us)
