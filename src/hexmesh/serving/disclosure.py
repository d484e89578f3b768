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
import re
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa

from hexmesh.errors import HexmeshError
from hexmesh.governance import AccessDeniedError, AuthenticationError, Principal, ReadPlan
from hexmesh.infra.events import StoredEvent
from hexmesh.product import DeployedProduct
from hexmesh.product.policy import discoverable_schema
from hexmesh.serving.governed import sidecar_of
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
    sidecar = sidecar_of(node)
    found = {}
    for port in product.spec.output_ports:
        schema = discoverable_schema(sidecar, product, principal, port.name)
        if schema is not None:
            found[port.name] = schema
    return found


def may_discover(node: Node, principal: Principal | None, product: DeployedProduct) -> bool:
    """Whether the caller may learn that the product exists and what it is about.

    Always on a node that does not enforce policies (``--no-auth``); else when a policy lets it
    discover one of the ports (``discover`` for ``anyone`` makes a product public), or lets it ask
    for access (the built-in policy lets anyone signed in ask: they must see what to ask for).
    """
    if principal is None:
        return True
    decider = sidecar_of(node).decider(product)
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
    return sidecar_of(node).decider(product).decide(principal, "control").allowed


def may_see_counts(node: Node, principal: Principal, product: DeployedProduct, port: str) -> bool:
    """Whether row counts of ``port`` tell ``principal`` nothing it may not know: it controls the
    product, or it reads every row (no row filter, the rows variant)."""
    sidecar = sidecar_of(node)
    return may_control(node, principal, product) or _reads_every_row(sidecar.plan(product, principal, port))


def require_port(node: Node, principal: Principal, product: DeployedProduct, port: str) -> None:
    """Refuse (401 anonymous, 403 signed in) a caller that may not discover ``port``."""
    require_discovery(node, principal, product)
    if discoverable_schema(sidecar_of(node), product, principal, port) is None:
        raise AccessDeniedError(
            f"{principal.key} may not discover dp://{product.key}/{port}. Ask for access: "
            f"hexmesh access request dp://{product.key}/{port} --purpose <purpose>"
        )


def filter_breaches(
    node: Node, principal: Principal, product: DeployedProduct, events: Sequence[StoredEvent]
) -> list[tuple[str, str]]:
    """The product's SLO breach events of the ports the principal may discover; counts only for those who may."""
    sidecar = sidecar_of(node)
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
        [check] = _slo_checks([{**data, "name": data.get("slo")}], whole=False)
        shown = {k: v for k, v in check.items() if k != "name"}
        kept.append((str(event.seq), json.dumps({**body, "data": shown}, separators=(",", ":"), default=str)))
    return kept


def visible_health(node: Node, principal: Principal, product: DeployedProduct, port: dict[str, Any]) -> dict[str, Any]:
    """A port's health (``PortHealth.as_dict()``) without what the data would tell a non-reader.

    SLO verdicts and times are for anyone who may discover the port. Numbers computed from the
    rows (counts, per-column min/max/quantiles, drift) are shown only to whoever reads every row:
    per column read in clear; none with a row filter, a non-row variant or no read access.
    """
    sidecar = sidecar_of(node)
    name = port["address"].rsplit("/", 1)[-1]
    if may_control(node, principal, product):
        return port  # the owner, a governance principal: everything
    plan = sidecar.plan(product, principal, name)
    whole = _reads_every_row(plan)
    clear = {c for c, action in plan.columns.items() if action.kind == "keep"} if whole else set()
    history = [{**h, "rows": h["rows"] if whole else None} for h in port["history"]]
    return {
        **port,
        "checks": _slo_checks(port["checks"], whole),
        "history": history,
        "shape": {c: stats for c, stats in port["shape"].items() if c in clear},
        "drift": {c: change for c, change in port["drift"].items() if c in clear},
    }


def visible_document(
    node: Node, principal: Principal, document: dict[str, Any], product: DeployedProduct | None = None
) -> dict[str, Any]:
    """A discovery document as ``principal`` may see it (a new dict: the node caches the original).

    Owners (and other ``control`` principals) see all of it. Anyone else sees the ports it may
    discover with the columns it may discover; a port it may only ask for is a stub (name and
    description, ``hexmesh:access: request``). Left out: links to what it may not discover here,
    upstream products it may not discover, quality checks naming hidden columns, access rules,
    source settings, the Iceberg location, rule-finding details, and counts unless it reads every row.
    """
    if product is None:
        product = node.product(*document["dct:identifier"].removeprefix("dp://").split("/", 1))
    if may_control(node, principal, product):
        return document
    sidecar = sidecar_of(node)
    may_ask = sidecar.decider(product).decide(principal, "requestAccess").allowed
    datasets, hidden = [], {}
    for dataset in document.get("dcat:servesDataset", []):
        port = dataset["dct:title"]
        schema = discoverable_schema(sidecar, product, principal, port)
        declared = {f["hexmesh:name"] for f in dataset.get("hexmesh:schema", [])}
        if schema is None:
            if may_ask:  # it must see what there is to ask for, not what is in it
                datasets.append(
                    {k: dataset.get(k) for k in ("@id", "@type", "dct:identifier", "dct:title", "dct:description")}
                    | {"hexmesh:access": "request"}
                )
            continue
        names = set(schema.names)
        hidden[port] = declared - names
        whole = _reads_every_row(sidecar.plan(product, principal, port))
        status = dataset.get("hexmesh:sloStatus", {})
        event_time = dataset.get("hexmesh:eventTime")
        datasets.append(
            {
                **dataset,
                "hexmesh:schema": [
                    _linked(node, principal, f) for f in dataset.get("hexmesh:schema", []) if f["hexmesh:name"] in names
                ],
                "hexmesh:primaryKey": [c for c in dataset.get("hexmesh:primaryKey") or [] if c in names],
                "hexmesh:eventTime": event_time if event_time in names else None,
                "hexmesh:sloStatus": {**status, "hexmesh:checks": _slo_checks(status.get("hexmesh:checks", []), whole)},
                # The Iceberg table is the owner's storage, not a port: reading it would bypass policies.
                "dcat:distribution": [
                    d for d in dataset.get("dcat:distribution", []) if d.get("dct:title") != "Apache Iceberg table"
                ],
            }
        )
    lineage = document.get("hexmesh:lineage") or {}
    governance = document.get("hexmesh:governance")
    return {
        **document,
        "dcat:servesDataset": datasets,
        "hexmesh:lineage": {
            **lineage,
            "hexmesh:inputPorts": [
                {
                    **p,
                    "hexmesh:source": _source_kind(p.get("hexmesh:source")),
                    "hexmesh:from": p.get("hexmesh:from") if _sees(node, principal, p.get("hexmesh:from")) else None,
                }
                for p in lineage.get("hexmesh:inputPorts", [])
            ],
            "hexmesh:upstream": [u for u in lineage.get("hexmesh:upstream", []) if _sees(node, principal, u)],
        },
        "hexmesh:quality": [
            {
                **run,
                "hexmesh:checks": [
                    {k: c.get(k) for k in ("port", "check", "passed")}
                    for c in run.get("hexmesh:checks", [])
                    if _names_none(c, hidden)
                ],
            }
            for run in document.get("hexmesh:quality", [])
        ],
        "hexmesh:access": {**document.get("hexmesh:access", {}), "hexmesh:policies": []},
        # Which rules a finding broke, not where (a field's name) nor its message.
        "hexmesh:governance": None
        if governance is None
        else {
            **governance,
            "hexmesh:blocking": [str(f).split(" at ", 1)[0] for f in governance.get("hexmesh:blocking") or []],
            "hexmesh:warnings": [str(f).split(" at ", 1)[0] for f in governance.get("hexmesh:warnings") or []],
        },
    }


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
    schema = discoverable_schema(sidecar_of(node), product, principal, parsed.port)
    return schema is not None and (parsed.field is None or parsed.field in schema.names)


def _linked(node: Node, principal: Principal, field: dict[str, Any]) -> dict[str, Any]:
    links = field.get("hexmesh:links")
    if not links:
        return field
    return {**field, "hexmesh:links": [link for link in links if _sees(node, principal, str(link))]}


def _names_none(check: dict[str, Any], hidden: dict[str, set[str]]) -> bool:
    """Whether a quality check is about a port the caller sees and names none of its hidden columns."""
    port = check.get("port")
    if port is not None and port not in hidden:
        return False
    columns: Iterable[str] = hidden.get(port, set()) if port is not None else set().union(*hidden.values())
    text = f"{check.get('check', '')} {check.get('detail', '')}"
    return not any(re.search(rf"\b{re.escape(c)}\b", text) for c in columns)


def _reads_every_row(plan: ReadPlan) -> bool:
    """Whether the plan reads every row as stored (counts of rows then tell it nothing new)."""
    return plan.decision.allowed and plan.variant == "rows" and plan.row_filter is None and not plan.min_group


def _slo_checks(checks: list[dict[str, Any]], whole: bool) -> list[dict[str, Any]]:
    """SLO checks; the numbers and details of those computed from rows and statistics only for readers of every row.

    Completeness says how many rows a publication had, drift how a column's statistics moved: a reader
    of some rows (or of none) gets their verdicts only.
    """
    if whole:
        return checks
    hidden = {"actual": None, "target": None, "detail": "shown to readers of every row"}
    return [{**c, **hidden} if c.get("name") in _COUNTED else c for c in checks]


#: Checks whose numbers and details are counts or column statistics.
_COUNTED = ("volume", "schema", "completeness", "drift")


def _source_kind(source: dict[str, Any] | None) -> dict[str, Any] | None:
    """An operational source's kind only: its settings (paths, DSNs) are the owner's."""
    if not source:
        return source
    return {k: v for k, v in source.items() if k in ("format", "kind", "mode")}
