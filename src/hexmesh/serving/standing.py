"""Where one viewer stands with each port of a product: owns it, reads it (masked where), or may ask for it.

The web UI shows this per port instead of the same request form to everyone: the owner is told it
owns the product, a reader which of the columns it sees are masked, anyone on a public port that
it is public, and everyone else the state of their own newest request (pending, approved, denied).
Built from the viewer's own read plan (the same the door enforces) and its own access requests;
nothing here names a column the viewer may not see.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from hexmesh.governance import ANONYMOUS, UNRESTRICTED, Principal, ReadPlan
from hexmesh.governance.grants import AccessRequest
from hexmesh.product import DeployedProduct
from hexmesh.product.policy import one_request
from hexmesh.serving.disclosure import may_control
from hexmesh.serving.node import Node

__all__ = ["Standing", "readers_plan", "standings"]

Kind = Literal["open", "owner", "public", "reader", "request"]


@dataclass(frozen=True)
class Standing:
    """One port as one viewer stands with it.

    ``kind``: ``open`` (the node enforces no policy), ``owner`` (controls the product, reads all),
    ``public`` (anyone may read it), ``reader`` (a policy or a grant lets the viewer read it), or
    ``request`` (it may not read it: it may ask). ``masked`` are the viewer's columns it does not
    see in clear (redacted, pseudonymized, tokenized, generalized); ``variant`` is what it reads
    (rows, or only aggregates or synthetic rows); ``request`` is its own newest request for the port.
    """

    port: str
    kind: Kind
    masked: tuple[str, ...] = ()
    variant: str = "rows"
    request: AccessRequest | None = None
    purpose: str = ""
    """The purpose of the grant the viewer reads under ("" when a policy lets it read for any)."""

    @property
    def reads(self) -> bool:
        return self.kind != "request"


def readers_plan(node: Node, principal: Principal, product: DeployedProduct, port: str) -> tuple[ReadPlan, str]:
    """The viewer's read plan of ``port`` and its purpose: any purpose, else that of one of its live grants."""
    sidecar = node.policies
    plan = sidecar.plan(product, principal, port)
    if plan.decision.allowed or not principal.authenticated:
        return plan, ""
    for purpose in _granted_purposes(node, principal, product.key, port):
        granted = sidecar.plan(product, principal, port, purpose=purpose)
        if granted.decision.allowed:
            return granted, purpose
    return plan, ""


def standings(node: Node, principal: Principal, product: DeployedProduct) -> dict[str, Standing]:
    """Each output port of ``product`` as ``principal`` stands with it (``open`` to the unrestricted
    principal of a node without ``--auth``: it reads everything, as does anyone who reaches the node)."""
    ports = [p.name for p in product.spec.output_ports]
    if principal == UNRESTRICTED:
        return {p: Standing(p, "open") for p in ports}
    sidecar = node.policies
    with one_request():
        if may_control(node, principal, product):
            return {p: Standing(p, "owner") for p in ports}
        mine = _own_requests(node, principal, product.key)
        found = {}
        for port in ports:
            plan, purpose = readers_plan(node, principal, product, port)
            newest = next((r for r in mine if r.port == port), None)
            if not plan.decision.allowed:
                found[port] = Standing(port, "request", request=newest)
                continue
            public = sidecar.plan(product, ANONYMOUS, port).decision.allowed
            masked = tuple(name for name, action in plan.columns.items() if action.kind != "keep")
            kind: Kind = "public" if public else "reader"
            found[port] = Standing(port, kind, masked, plan.variant, newest, purpose)
        return found


def _own_requests(node: Node, principal: Principal, key: str) -> list[AccessRequest]:
    """The viewer's requests for ``key``, newest first (none for anonymous viewers: they cannot ask)."""
    if not principal.authenticated:
        return []
    return node.workspace.stewardship.requests(product=key, principal_id=principal.id)


def _granted_purposes(node: Node, principal: Principal, key: str, port: str) -> list[str]:
    at = int(time.time() * 1_000_000)
    return [r.purpose for r in _own_requests(node, principal, key) if r.port == port and r.active(at)]
