"""Access requests: the consumer asks, an owner decides, the policy decider follows.

The facades call :func:`request_access` and :func:`decide_access`, so each surface only parses
and renders. The rules of a request are :mod:`hexmesh.governance.grants`'; the rows are the
state store's (:mod:`hexmesh.infra.state.access_requests`). Every step is audited; the next read
sees the new grant set.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from hexmesh.errors import NotFoundError
from hexmesh.governance import AccessDeniedError, Decision, PolicyError, Principal, product_principal
from hexmesh.governance.grants import AccessRequest, active_grants, approve, deny, new_request, revoke, shape_of
from hexmesh.infra.state import access_requests as stored
from hexmesh.infra.state import audit
from hexmesh.infra.state.records import now_us
from hexmesh.product.deployed import DeployedProduct
from hexmesh.spec.policies import AccessRule

if TYPE_CHECKING:
    from hexmesh.product.policy.sidecar import PolicySidecar

__all__ = [
    "DAY_US",
    "decide_access",
    "decide_request",
    "get_request",
    "grants",
    "list_requests",
    "request_access",
    "submit_request",
]

DAY_US = 86_400 * 1_000_000


def _request(row: Mapping[str, Any]) -> AccessRequest:
    return AccessRequest(
        row["id"],
        Principal.from_json(row["principal"]),
        row["product"],
        row["port"],
        row["purpose"],
        row["note"],
        row["status"],
        row["requested_us"],
        row["decided_by"],
        row["decision_note"],
        row["decided_us"],
        row["expires_us"],
        row.get("shape"),
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
                **({"shape": request.shape} if request.shape is not None else {}),
            },
        ),
    )


def submit_request(
    db: Engine, principal: Principal, product: str, port: str, purpose: str, note: str, decision: Decision
) -> AccessRequest:
    """Store a new pending request (``decision``: the policy decider's answer to ``requestAccess``)."""
    request = new_request(str(uuid.uuid4()), principal, product, port, purpose, note, decision, now_us())
    stored.insert_request(
        db,
        {
            "id": request.id,
            "principal": principal.to_json(),
            "product": product,
            "port": port,
            "purpose": request.purpose,
            "note": note,
            "status": "pending",
            "requested_us": request.requested_us,
            "decision_note": "",
        },
    )
    _audit(db, principal.key, request, "request", decision.policy_ids)
    return request


def get_request(db: Engine, request_id: str) -> AccessRequest:
    row = stored.request_row(db, request_id)
    if row is None:
        raise NotFoundError(f"no access request {request_id!r}; `hexmesh access list` shows them")
    return _request(row)


def decide_request(
    db: Engine,
    request_id: str,
    decider: Principal,
    control: Decision,
    *,
    verdict: str,
    note: str,
    duration_us: int = 90 * DAY_US,
    shape: dict[str, Any] | None = None,
) -> AccessRequest:
    """Approve, deny or revoke (``verdict``) a request; ``control``: the policy decider's answer to ``control``.

    ``shape``: what an approval grants (:func:`hexmesh.governance.grants.shape_of`).
    """
    current = get_request(db, request_id)
    at = now_us()
    if verdict == "approve":
        decided = approve(current, decider, control, note, at, duration_us, shape)
    elif verdict == "deny":
        decided = deny(current, decider, control, note, at)
    elif verdict == "revoke":
        decided = revoke(current, decider, control, note, at)
    else:
        raise ValueError(f"verdict {verdict!r} is not approve, deny or revoke")
    values = {
        "status": decided.status,
        "decided_by": decided.decided_by,
        "decision_note": decided.decision_note,
        "decided_us": decided.decided_us,
        "expires_us": decided.expires_us,
        "shape": decided.shape,
    }
    # The status guard makes concurrent decisions safe: only one of them changes the row.
    if not stored.update_request(db, request_id, current.status, values):
        return decide_request(
            db, request_id, decider, control, verdict=verdict, note=note, duration_us=duration_us, shape=shape
        )
    _audit(db, decider.key, decided, verdict, control.policy_ids)
    return decided


def list_requests(
    db: Engine, *, product: str | None = None, status: str | None = None, principal_id: str | None = None
) -> list[AccessRequest]:
    """Requests, newest first."""
    found = [_request(row) for row in stored.request_rows(db, product=product, status=status)]
    return [r for r in found if principal_id is None or r.principal.id == principal_id]


def grants(db: Engine, product: str, *, at_us: int | None = None) -> list[tuple[str, AccessRule]]:
    """The live grants of a product, ready for ``PolicyDecider(grants=...)``."""
    return active_grants(list_requests(db, product=product, status="approved"), now_us() if at_us is None else at_us)


def request_access(
    sidecar: PolicySidecar,
    principal: Principal,
    ref: str,
    port: str,
    purpose: str,
    note: str = "",
    *,
    for_product: str | None = None,
) -> AccessRequest:
    """Ask for read access to ``port`` of the product ``ref`` for ``purpose``.

    ``for_product`` (``domain/name``) asks for that product's principal, which reads its input
    ports as itself (docs/adr/0026): the caller must control it when it is deployed; the request
    records who asked.

    Raises:
        AccessDeniedError: the principal may not ask (anonymous, no requestAccess permit, or not an
            owner of ``for_product``).
        PolicyError: no purpose given.
        NotFoundError: no such product or port.
    """
    product = DeployedProduct.load(sidecar.runtime, ref)
    product.output(port)
    if for_product is not None:
        note = f"asked by {principal.key} for its product {for_product}" + (f": {note}" if note else "")
        principal = _for_product(sidecar, principal, for_product)
    decision = sidecar.decider(product).decide(principal, "requestAccess", port, purpose=purpose)
    return submit_request(sidecar.db, principal, product.key, port, purpose, note, decision)


def _for_product(sidecar: PolicySidecar, principal: Principal, key: str) -> Principal:
    """The principal of product ``key``, when ``principal`` may ask on its behalf."""
    if not principal.authenticated:
        raise AccessDeniedError(f"asking for access for {key} needs a token of its owners")
    try:
        consumer = DeployedProduct.load(sidecar.runtime, key)
    except NotFoundError:  # not deployed yet (its deploy waits for this grant): the request says who asked
        return product_principal(key, principal.id)
    ports = [p.name for p in consumer.spec.output_ports]
    decider = sidecar.decider(consumer)
    if not ports or not decider.decide(principal, "control", ports[0]).allowed:
        raise AccessDeniedError(
            f"{principal.key} does not control {key}, so it may not ask for access on its behalf; "
            f"its owner ({consumer.spec.owner}) may"
        )
    return product_principal(key, consumer.spec.owner)


def decide_access(
    sidecar: PolicySidecar,
    request_id: str,
    decider: Principal,
    verdict: str,
    note: str = "",
    *,
    duration_us: int = 90 * DAY_US,
    shape: str | None = None,
) -> AccessRequest:
    """Approve, deny or revoke (``verdict``) a request; only principals with ``control`` may.

    An approval grants the policy shape ``shape`` (the id of one of the product's read rules for
    the port) or, without one, every column but the restricted ones; every privacy rule of the
    port applies to the grant holder (:mod:`hexmesh.governance.grants`).

    Raises:
        AccessDeniedError: the decider has no control of the product, or decides its own request.
        PolicyError: a denial without a note, a request in the wrong state, a duration over a year,
            an unknown shape.
    """
    current = get_request(sidecar.db, request_id)
    product = DeployedProduct.load(sidecar.runtime, current.product)
    policy = sidecar.decider(product)
    control = policy.decide(decider, "control", current.port)
    granted = None
    if verdict == "approve":
        own = {pid.removeprefix("product:"): rule for pid, rule in policy.rules.items() if pid.startswith("product:")}
        granted = shape_of(product.spec, own, current.port, shape)
    elif shape is not None:
        raise PolicyError(f"a policy shape is granted by an approval, not by {verdict}: leave --shape out")
    return decide_request(
        sidecar.db,
        request_id,
        decider,
        control,
        verdict=verdict,
        note=note,
        duration_us=duration_us,
        shape=granted,
    )
