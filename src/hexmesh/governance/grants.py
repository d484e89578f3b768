"""Access requests and grants: a consumer asks for a port with a purpose; the owner decides.

Only the rules live here (no storage): what a valid request is, who may decide it, and how an
approved request becomes a purpose-bound, expiring Cedar grant.

An approval grants a *policy shape* the owner chose, never more: the columns and rows of one of
the product's structured read rules (``approve --shape analysts``), or, when none is named, every
column but the port's restricted ones and every row. The shape is copied into the request when it
is approved, so a later change of that rule does not widen a grant. Masks follow the grant too:
every privacy rule of the port applies to a grant holder, whatever its ``for``/``exempt`` says
(:func:`~hexmesh.governance.read_plan.plan_read`), and restricted fields stay sealed unless the
shape names them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from hexmesh.governance.access import Decision
from hexmesh.governance.exceptions import AccessDeniedError, PolicyError
from hexmesh.governance.identity import Principal
from hexmesh.spec.model import DataProductSpec
from hexmesh.spec.policies import AccessRule, Columns, Selector

__all__ = [
    "MAX_GRANT_US",
    "AccessRequest",
    "RequestStatus",
    "active_grants",
    "approve",
    "deny",
    "new_request",
    "revoke",
    "shape_of",
]

RequestStatus = Literal["pending", "approved", "denied", "revoked"]
#: Grants expire: at most one year, so forgotten grants do not live forever.
MAX_GRANT_US = 366 * 24 * 3600 * 1_000_000


@dataclass(frozen=True)
class AccessRequest:
    """One request and, once decided, its outcome."""

    id: str
    principal: Principal
    product: str
    port: str
    purpose: str
    note: str
    status: RequestStatus
    requested_us: int
    decided_by: str | None = None
    decision_note: str = ""
    decided_us: int | None = None
    expires_us: int | None = None
    shape: dict[str, Any] | None = None
    """What the approval grants: ``{"name", "columns", "rows"}`` (see the module's doc)."""

    def active(self, at_us: int) -> bool:
        return self.status == "approved" and self.expires_us is not None and self.expires_us > at_us

    def grant_rule(self) -> AccessRule:
        """The Cedar-compiled rule an approved request stands for: this principal, port, purpose, until expiry."""
        if self.status != "approved" or self.expires_us is None:
            raise PolicyError(f"request {self.id} is {self.status}; only approved requests grant access")
        kind = self.principal.kind
        selector = (
            Selector(user=self.principal.id)
            if kind == "User"
            else Selector(service_account=self.principal.id)
            if kind == "ServiceAccount"
            else Selector(product=self.principal.id)
        )
        shape = self.shape or {}
        return AccessRule(
            id=self.id,
            allow=selector,
            ports=[self.port],
            actions=["read"],
            purposes=[self.purpose],
            columns=Columns.model_validate(shape["columns"]) if shape.get("columns") else None,
            rows=shape.get("rows"),
            expires=datetime.fromtimestamp(self.expires_us / 1_000_000, tz=UTC),
        )


def new_request(
    request_id: str,
    principal: Principal,
    product: str,
    port: str,
    purpose: str,
    note: str,
    decision: Decision,
    at_us: int,
) -> AccessRequest:
    """A pending request; needs a purpose and a ``requestAccess`` permit."""
    if not principal.authenticated or principal.kind not in ("User", "ServiceAccount", "DataProduct"):
        raise AccessDeniedError("sign in to request access; anonymous callers cannot ask for grants")
    if not purpose.strip():
        raise PolicyError("an access request needs a purpose (what the data will be used for)")
    if not decision.allowed or decision.action != "requestAccess":
        raise AccessDeniedError("; ".join(decision.reasons) or "requestAccess is not permitted")
    return AccessRequest(request_id, principal, product, port, purpose.strip(), note, "pending", at_us)


def _decider(request: AccessRequest, decider: Principal, control: Decision) -> None:
    if not control.allowed or control.action != "control":
        raise AccessDeniedError(
            f"{decider.key} may not decide access to {request.product}/{request.port}: only its owners can"
        )
    if decider.key == request.principal.key:
        raise AccessDeniedError("a principal cannot approve its own request")


def shape_of(spec: DataProductSpec, rules: dict[str, AccessRule], port: str, name: str | None) -> dict[str, Any]:
    """The policy shape ``name`` grants on ``port``: a structured read rule of the product, or the default.

    ``rules``: the product's own rules by id (``policies.access[].id``).

    Raises:
        PolicyError: no such rule, or it does not grant reading ``port``; says which shapes exist.
    """
    output = spec.output(port)
    if output is None:
        raise PolicyError(f"{spec.key} has no output port {port!r}")
    if name is None:
        restricted = [f.name for f in output.properties if f.classification == "restricted"]
        return {"name": "default", "columns": {"exclude": restricted} if restricted else None, "rows": None}
    usable = {
        rule_id: rule
        for rule_id, rule in rules.items()
        if rule.allow is not None and "read" in rule.actions and (not rule.ports or port in rule.ports)
    }
    rule = usable.get(name)
    if rule is None:
        known = ", ".join(sorted(usable)) or "none: give a read rule an id under policies.access"
        raise PolicyError(
            f"{name!r} is not a policy shape of {spec.key}/{port}: a shape is the id of one of the product's "
            f"read rules for the port, whose columns and rows the grant copies (shapes: {known}); leave it out "
            "for the default (every column but restricted ones)"
        )
    columns = rule.columns.model_dump(exclude_defaults=True) if rule.columns is not None else None
    return {"name": name, "columns": columns or None, "rows": rule.rows}


def approve(
    request: AccessRequest,
    decider: Principal,
    control: Decision,
    note: str,
    at_us: int,
    duration_us: int,
    shape: dict[str, Any] | None = None,
) -> AccessRequest:
    """Approve a pending request for ``duration_us`` (at most a year), granting ``shape`` (see :func:`shape_of`)."""
    _decider(request, decider, control)
    if request.status != "pending":
        raise PolicyError(f"request {request.id} is already {request.status}")
    if not 0 < duration_us <= MAX_GRANT_US:
        raise PolicyError(f"a grant lasts more than 0 and at most 366 days, not {duration_us / 86_400e6:.1f} days")
    return replace(
        request,
        status="approved",
        decided_by=decider.key,
        decision_note=note,
        decided_us=at_us,
        expires_us=at_us + duration_us,
        shape=shape,
    )


def deny(request: AccessRequest, decider: Principal, control: Decision, note: str, at_us: int) -> AccessRequest:
    """Deny a pending request; the note (why) is required."""
    _decider(request, decider, control)
    if request.status != "pending":
        raise PolicyError(f"request {request.id} is already {request.status}")
    if not note.strip():
        raise PolicyError("say why the request is denied (a note)")
    return replace(request, status="denied", decided_by=decider.key, decision_note=note, decided_us=at_us)


def revoke(request: AccessRequest, decider: Principal, control: Decision, note: str, at_us: int) -> AccessRequest:
    """End an approved grant early."""
    _decider(request, decider, control)
    if request.status != "approved":
        raise PolicyError(f"request {request.id} is {request.status}; only approved grants can be revoked")
    return replace(request, status="revoked", decided_by=decider.key, decision_note=note, decided_us=at_us)


def active_grants(requests: Iterable[AccessRequest], at_us: int) -> list[tuple[str, AccessRule]]:
    """(grant id, rule) pairs for :class:`~hexmesh.governance.access.PolicyDecider`'s ``grants``."""
    return [(r.id, r.grant_rule()) for r in requests if r.active(at_us)]
