"""What a caller may learn *about* a product, when the node enforces policies: metadata, not rows.

The catalog, the discovery document, the observability report, the snapshot listing and the SLO
breach events describe a product. Each one is shaped here for the caller: only the ports and
columns a policy lets it discover (``discover``, implied by every read action); no name of a hidden
column, port or product (links, lineage, quality checks); none of the owner's settings (access
rules, source settings, storage location); and no count of rows it may not read (row counts and
column statistics only for a reader of every row, statistics only of columns it reads in clear).
Owners and other ``control`` principals see everything. See docs/adr/0009.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from hexmesh.errors import HexmeshError
from hexmesh.governance import AccessDeniedError, AuthenticationError, Principal
from hexmesh.infra.events import StoredEvent
from hexmesh.product import DeployedProduct
from hexmesh.product.policy import discoverable_schema, discovery_view, reads_every_row, slo_checks
from hexmesh.serving.node import Node
from hexmesh.spec import parse_address

__all__ = [
    "discoverable_ports",
    "filter_breaches",
    "may_control",
    "may_discover",
    "may_see_counts",
    "require_discovery",
    "require_port",
    "sees",
    "visible_document",
    "visible_health",
]


def discoverable_ports(node: Node, principal: Principal, product: DeployedProduct) -> dict[str, pa.Schema]:
    """The output ports ``principal`` may discover, with the columns it may see of each."""
    sidecar = node.policies
    found = {}
    for port in product.spec.output_ports:
        schema = discoverable_schema(sidecar, product, principal, port.name)
        if schema is not None:
            found[port.name] = schema
    return found


def may_discover(node: Node, principal: Principal, product: DeployedProduct) -> bool:
    """Whether the caller may learn that the product exists and what it is about.

    When a policy lets it discover one of the ports (``discover`` for ``anyone`` makes a product
    public), or lets it ask for access (the built-in policy lets anyone signed in ask: they must see
    what to ask for). The unrestricted principal of a node without ``--auth`` may do both.
    """
    decider = node.policies.decider(product)
    if decider.decide(principal, "requestAccess").allowed:
        return True
    return any(decider.decide(principal, "discover", p.name).allowed for p in product.spec.output_ports)


def require_discovery(node: Node, principal: Principal, product: DeployedProduct) -> Principal:
    """``principal`` when it may discover the product; else 401 (anonymous: sign in) or 403."""
    if may_discover(node, principal, product):
        return principal
    if not principal.authenticated:
        raise AuthenticationError(
            f"dp://{product.key} is not public: send an API token (Authorization: Bearer hxm_…; "
            "the owner or an administrator creates one with hexmesh token create)"
        )
    raise AccessDeniedError(f"{principal.key} may not discover dp://{product.key} (no policy permits it)")


def may_control(node: Node, principal: Principal, product: DeployedProduct) -> bool:
    """Whether ``principal`` runs the product (its owner, a governance principal)."""
    return node.policies.decider(product).decide(principal, "control").allowed


def may_see_counts(node: Node, principal: Principal, product: DeployedProduct, port: str) -> bool:
    """Whether row counts of ``port`` tell ``principal`` nothing it may not know: it controls the
    product, or it reads every row (no row filter, the rows variant)."""
    sidecar = node.policies
    return may_control(node, principal, product) or reads_every_row(sidecar.plan(product, principal, port))


def require_port(node: Node, principal: Principal, product: DeployedProduct, port: str) -> None:
    """Refuse (401 anonymous, 403 signed in) a caller that may not discover ``port``."""
    require_discovery(node, principal, product)
    if discoverable_schema(node.policies, product, principal, port) is None:
        raise AccessDeniedError(
            f"{principal.key} may not discover dp://{product.key}/{port}. Ask for access: "
            f"hexmesh access request dp://{product.key}/{port} --purpose <purpose>"
        )


def filter_breaches(
    node: Node, principal: Principal, product: DeployedProduct, events: Sequence[StoredEvent]
) -> list[tuple[str, str]]:
    """The product's SLO breach events of the ports the principal may discover; counts only for those who may."""
    sidecar = node.policies
    ports = {p.name for p in product.spec.output_ports}
    counts: dict[str, bool | None] = {}  # port -> may see counts; None: may not discover it (or gone)
    kept = []
    for event in events:
        body = event.body
        port = str(body.get("source", "")).rsplit("/", 1)[-1]
        if port not in counts:
            discoverable = port in ports and discoverable_schema(sidecar, product, principal, port) is not None
            counts[port] = may_see_counts(node, principal, product, port) if discoverable else None
        if counts[port] is None:
            continue
        data = body.get("data")
        if counts[port] or not isinstance(data, dict):
            kept.append((str(event.seq), event.text))
            continue
        [check] = slo_checks([{**data, "name": data.get("slo")}], whole=False)
        shown = {k: v for k, v in check.items() if k != "name"}
        kept.append((str(event.seq), json.dumps({**body, "data": shown}, separators=(",", ":"), default=str)))
    return kept


def visible_health(node: Node, principal: Principal, product: DeployedProduct, port: dict[str, Any]) -> dict[str, Any]:
    """A port's health (``PortHealth.as_dict()``) without what the data would tell a non-reader.

    SLO verdicts and times are for anyone who may discover the port. Numbers computed from the
    rows (counts, per-column min/max/quantiles, drift) are shown only to whoever reads every row:
    per column read in clear; none with a row filter, a non-row variant or no read access.
    """
    sidecar = node.policies
    name = port["address"].rsplit("/", 1)[-1]
    if may_control(node, principal, product):
        return port  # the owner, a governance principal: everything
    plan = sidecar.plan(product, principal, name)
    whole = reads_every_row(plan)
    clear = {c for c, action in plan.columns.items() if action.kind == "keep"} if whole else set()
    history = [{**h, "rows": h["rows"] if whole else None} for h in port["history"]]
    return {
        **port,
        "checks": slo_checks(port["checks"], whole),
        "history": history,
        "shape": {c: stats for c, stats in port["shape"].items() if c in clear},
        "drift": {c: change for c, change in port["drift"].items() if c in clear},
    }


def visible_document(
    node: Node, principal: Principal, document: dict[str, Any], product: DeployedProduct | None = None
) -> dict[str, Any]:
    """A discovery document as ``principal`` may see it: built by the policy from what it may see
    (:func:`hexmesh.product.policy.discovery_view`); the same object for whoever controls the product."""
    if product is None:
        product = node.product(*document["dct:identifier"].removeprefix("dp://").split("/", 1))
    return discovery_view(node.policies, product, principal, document, lambda a: _sees(node, principal, a))


def sees(node: Node, principal: Principal, address: str | None) -> bool:
    """Whether ``address`` names nothing of this node ``principal`` may not discover."""
    return _sees(node, principal, address)


def _sees(node: Node, principal: Principal, address: str | None) -> bool:
    """Whether an address names nothing of this node the principal may not discover (peers: their call)."""
    if not address:
        return True
    try:
        parsed = parse_address(address)
        product = node.product(*parsed.product_key.split("/", 1))
    except (ValueError, HexmeshError):
        return True  # not an address, or a product of another node
    if parsed.port is None:
        return may_discover(node, principal, product)
    schema = discoverable_schema(node.policies, product, principal, parsed.port)
    return schema is not None and (parsed.field is None or parsed.field in schema.names)
