"""The policy sidecar on the HTTP ports of a node served with ``--auth``.

Routes call these functions with the caller from :data:`hexmesh.server.deps.Caller`; each one
plans and audits through the sidecar (``governed_table``, ``governed_batches``,
``discoverable_schema``, ``request_access``, ``decide_access``), so the routes hold no policy code.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any, Literal

import pyarrow as pa

from hexmesh.errors import HexmeshError, ReadError
from hexmesh.governance import AccessDeniedError, AuthenticationError, Principal, ReadPlan, apply_plan
from hexmesh.governance.grants import AccessRequest
from hexmesh.infra.events import StoredEvent
from hexmesh.product import DeployedProduct, OutputPortReader, ReadRequest
from hexmesh.product import files as port_files
from hexmesh.product.eventstream import ROW_EVENT
from hexmesh.product.policy import (
    PolicySidecar,
    decide_access,
    discoverable_schema,
    governed_batches,
    governed_table,
    request_access,
)
from hexmesh.product.policy.requests import DAY_US
from hexmesh.product.sealing import open_events
from hexmesh.server.node import Node

__all__ = [
    "ask",
    "check_stream",
    "consumer_name",
    "decide",
    "discoverable_ports",
    "download",
    "filter_breaches",
    "filter_events",
    "may_control",
    "may_discover",
    "may_see_counts",
    "pinned_etag",
    "require_discovery",
    "require_port",
    "visible_document",
    "visible_health",
]

Variant = Literal["rows", "synthetic"]


class AuthOffError(HexmeshError):
    """The node serves without ``--auth``: there are no policies to ask or decide over HTTP."""

    http_status = 409


def _sidecar(node: Node) -> PolicySidecar:
    if node.sidecar is None:
        raise AuthOffError("this node serves without --auth; start it with hexmesh serve --auth")
    return node.sidecar


def download(
    node: Node,
    principal: Principal,
    reader: OutputPortReader,
    fmt: str,
    req: ReadRequest,
    snapshot: int | None,
    *,
    purpose: str = "",
    variant: Variant = "rows",
) -> Iterator[bytes]:
    """The encoded rows of a read as ``principal`` may see them (403 before the first byte)."""
    whole = replace(req, columns=None)  # policies see every declared column (row filters, masks)
    schema = port_files.schema_of(reader, whole)
    table = pa.Table.from_batches(list(port_files.batches(reader, whole, snapshot)), schema=schema)
    key = (tuple(reader.record.table_id), snapshot, port_files.etag(reader, snapshot or 0, "rows", whole))
    shown = governed_table(
        _sidecar(node), reader.product, principal, reader.spec.name, table,
        purpose=purpose, variant=variant, via="files", snapshot=key,
    )
    if req.columns:
        missing = [c for c in req.columns if c not in shown.column_names]
        if missing:
            raise ReadError(f"no column {', '.join(missing)} is served to {principal.id} on {reader.address}")
        shown = shown.select(list(req.columns))
    return port_files.encode(fmt, shown.schema, iter(shown.to_batches()))


def pinned_etag(
    node: Node, principal: Principal, reader: OutputPortReader, tag: str, purpose: str, variant: str
) -> str:
    """A pinned download's ETag for this caller: the request's tag plus the plan's fingerprint."""
    plan = _sidecar(node).plan(reader.product, principal, reader.spec.name, purpose=purpose)
    if not plan.decision.allowed:
        return ""  # never a cache hit: the governed read answers 403
    mixed = f"{tag}|{plan.fingerprint()}|{variant}".encode()
    return '"' + hashlib.sha256(mixed).hexdigest()[:32] + '"'


def check_stream(node: Node, principal: Principal, reader: OutputPortReader, purpose: str = "") -> None:
    """Refuse (AccessDeniedError, 403) a stream the principal may not read; audited once."""
    for _ in governed_batches(_sidecar(node), reader.product, principal, reader.spec.name, (), purpose=purpose):
        pass


def filter_events(
    node: Node, principal: Principal, reader: OutputPortReader, events: Sequence[StoredEvent], purpose: str = ""
) -> list[tuple[int, str]]:
    """``(seq, text)`` of the events the principal may see, row data masked; re-planned per batch."""
    sidecar = _sidecar(node)
    plan = sidecar.plan(reader.product, principal, reader.spec.name, purpose=purpose)
    kept = []
    for event in open_events(reader.runtime, reader.spec, events):  # restricted fields opened first
        body = event.body
        data = body.get("data")
        if body.get("type") != ROW_EVENT or not isinstance(data, dict):
            kept.append((event.seq, event.text))
            continue
        rows = apply_plan(pa.Table.from_pylist([data]), plan, sidecar.secret).to_pylist()
        if rows:
            kept.append((event.seq, json.dumps({**body, "data": rows[0]}, separators=(",", ":"), default=str)))
    return kept


def discoverable_ports(node: Node, principal: Principal, product: DeployedProduct) -> dict[str, pa.Schema]:
    """The output ports ``principal`` may discover, with the columns it may see of each."""
    sidecar = _sidecar(node)
    found = {}
    for port in product.spec.output_ports:
        schema = discoverable_schema(sidecar, product, principal, port.name)
        if schema is not None:
            found[port.name] = schema
    return found


def may_discover(node: Node, principal: Principal | None, product: DeployedProduct) -> bool:
    """Whether the caller may learn that the product exists and what it is about.

    Always on a node without ``--auth``; else when a policy lets it discover one of the ports
    (``discover`` for ``anyone`` makes a product public), or lets it ask for access (the built-in
    policy lets anyone signed in ask: they must see what there is to ask for).
    """
    if principal is None:
        return True
    engine = _sidecar(node).engine(product)
    if engine.decide(principal, "requestAccess").allowed:
        return True
    return any(engine.decide(principal, "discover", p.name).allowed for p in product.spec.output_ports)


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
    return _sidecar(node).engine(product).decide(principal, "control").allowed


def may_see_counts(node: Node, principal: Principal, product: DeployedProduct, port: str) -> bool:
    """Whether row counts of ``port`` tell ``principal`` nothing it may not know: it controls the
    product, or it reads every row (no row filter, the rows variant)."""
    sidecar = _sidecar(node)
    return may_control(node, principal, product) or _reads_every_row(sidecar.plan(product, principal, port))


def require_port(node: Node, principal: Principal, product: DeployedProduct, port: str) -> None:
    """Refuse (401 anonymous, 403 signed in) a caller that may not discover ``port``."""
    require_discovery(node, principal, product)
    if discoverable_schema(_sidecar(node), product, principal, port) is None:
        raise AccessDeniedError(
            f"{principal.key} may not discover dp://{product.key}/{port}. Ask for access: "
            f"hexmesh access request dp://{product.key}/{port} --purpose <purpose>"
        )


def consumer_name(principal: Principal | None, consumer: str | None) -> str | None:
    """A consumer's stored name: per principal when policies are enforced, so nobody moves another's offset."""
    if consumer is None or principal is None:
        return consumer
    return f"{principal.key}|{consumer}"


def filter_breaches(
    node: Node, principal: Principal, product: DeployedProduct, events: Sequence[StoredEvent]
) -> list[tuple[int, str]]:
    """The product's SLO breach events of the ports the principal may discover; counts only for those who may."""
    sidecar = _sidecar(node)
    counts: dict[str, bool | None] = {}  # port -> may see counts; None: may not discover it
    kept = []
    for event in events:
        body = event.body
        port = str(body.get("source", "")).rsplit("/", 1)[-1]
        if port not in counts:
            discoverable = discoverable_schema(sidecar, product, principal, port) is not None
            counts[port] = may_see_counts(node, principal, product, port) if discoverable else None
        if counts[port] is None:
            continue
        data = body.get("data")
        if counts[port] or not isinstance(data, dict):
            kept.append((event.seq, event.text))
            continue
        [check] = _slo_checks([{**data, "name": data.get("slo")}], whole=False)
        shown = {k: v for k, v in check.items() if k != "name"}
        kept.append((event.seq, json.dumps({**body, "data": shown}, separators=(",", ":"), default=str)))
    return kept


def visible_health(node: Node, principal: Principal, product: DeployedProduct, port: dict[str, Any]) -> dict[str, Any]:
    """A port's health (``PortHealth.as_dict()``) without what the data would tell a non-reader.

    SLO verdicts and times are for anyone who may discover the port. Numbers computed from the
    rows (counts, per-column min/max/quantiles, drift) are shown only to whoever reads every row:
    per column read in clear; none with a row filter, a non-row variant or no read access.
    """
    sidecar = _sidecar(node)
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


def visible_document(node: Node, principal: Principal, document: dict[str, Any]) -> dict[str, Any]:
    """A discovery document as ``principal`` may see it.

    Owners (and governance principals) see all of it. Anyone else sees the ports it may discover
    with only the columns it may discover, and nothing that names a hidden column or counts rows
    it may not read: access rules, source settings, quality and rule-check details and row counts
    (unless it reads every row) are left out.
    """
    product = node.product(*document["dct:identifier"].removeprefix("dp://").split("/", 1))
    if may_control(node, principal, product):
        return document
    sidecar = _sidecar(node)
    datasets = []
    for dataset in document.get("dcat:servesDataset", []):
        port = dataset["dct:title"]
        schema = discoverable_schema(sidecar, product, principal, port)
        if schema is None:
            continue
        names = set(schema.names)
        whole = _reads_every_row(sidecar.plan(product, principal, port))
        status = dataset.get("hexmesh:sloStatus", {})
        event_time = dataset.get("hexmesh:eventTime")
        datasets.append({
            **dataset,
            "hexmesh:schema": [f for f in dataset.get("hexmesh:schema", []) if f["hexmesh:name"] in names],
            "hexmesh:primaryKey": [c for c in dataset.get("hexmesh:primaryKey") or [] if c in names],
            "hexmesh:eventTime": event_time if event_time in names else None,
            "hexmesh:sloStatus": {**status, "hexmesh:checks": _slo_checks(status.get("hexmesh:checks", []), whole)},
            # The Iceberg table is the owner's storage, not a port: reading it would bypass policies.
            "dcat:distribution": [d for d in dataset.get("dcat:distribution", [])
                                  if d.get("dct:title") != "Apache Iceberg table"],
        })
    lineage = document.get("hexmesh:lineage") or {}
    governance = document.get("hexmesh:governance")
    return {
        **document,
        "dcat:servesDataset": datasets,
        "hexmesh:lineage": {
            **lineage,
            "hexmesh:inputPorts": [
                {**p, "hexmesh:source": _source_kind(p.get("hexmesh:source"))}
                for p in lineage.get("hexmesh:inputPorts", [])
            ],
        },
        "hexmesh:quality": [
            {**run, "hexmesh:checks": [{k: c.get(k) for k in ("port", "check", "passed")}
                                       for c in run.get("hexmesh:checks", []) if c.get("port") in
                                       {d["dct:title"] for d in datasets} | {None}]}
            for run in document.get("hexmesh:quality", [])
        ],
        "hexmesh:access": {**document.get("hexmesh:access", {}), "hexmesh:policies": []},
        # Which rules a finding broke, not where (a field's name) nor its message.
        "hexmesh:governance": None if governance is None else {
            **governance,
            "hexmesh:blocking": [str(f).split(" at ", 1)[0] for f in governance.get("hexmesh:blocking") or []],
            "hexmesh:warnings": [str(f).split(" at ", 1)[0] for f in governance.get("hexmesh:warnings") or []],
        },
    }


def _reads_every_row(plan: ReadPlan) -> bool:
    """Whether the plan reads every row as stored (counts of rows then tell it nothing new)."""
    return plan.decision.allowed and plan.variant == "rows" and plan.row_filter is None and not plan.min_group


def _slo_checks(checks: list[dict[str, Any]], whole: bool) -> list[dict[str, Any]]:
    """SLO checks; the volume and schema checks' numbers and details only for readers of every row."""
    if whole:
        return checks
    hidden = {"actual": None, "target": None, "detail": "shown to readers of every row"}
    return [{**c, **hidden} if c.get("name") in ("volume", "schema") else c for c in checks]


def _source_kind(source: dict[str, Any] | None) -> dict[str, Any] | None:
    """An operational source's kind only: its settings (paths, DSNs) are the owner's."""
    if not source:
        return source
    return {k: v for k, v in source.items() if k in ("format", "kind", "mode")}


def ask(node: Node, principal: Principal | None, key: str, port: str, purpose: str, note: str) -> AccessRequest:
    sidecar = _sidecar(node)
    if principal is None or not principal.authenticated:
        raise AuthenticationError("asking for access needs a token: Authorization: Bearer hxm_…")
    return request_access(sidecar, principal, key, port, purpose, note)


def decide(
    node: Node, principal: Principal | None, request_id: str, verdict: str, note: str, days: int
) -> AccessRequest:
    sidecar = _sidecar(node)
    if principal is None or not principal.authenticated:
        raise AuthenticationError("deciding on access needs a token: Authorization: Bearer hxm_…")
    return decide_access(sidecar, request_id, principal, verdict, note, duration_us=days * DAY_US)
