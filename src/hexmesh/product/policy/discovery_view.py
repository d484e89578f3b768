"""A discovery document as one caller may see it, built from what that caller may see (an allow-list).

The node builds one document per product, for its owners. Everyone else gets a new document made
of the keys listed here, at every level (product, port, field, distribution, lineage, quality,
governance), filled with the parts the policy lets the caller see: the ports and columns it may
discover, links and upstream ports that name nothing hidden, quality checks that name no hidden
column, counts only for readers of every row. A key the node adds to the document later reaches
nobody but the owners until it is added here (ADR 0032).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from hexmesh.governance import Principal, ReadPlan
from hexmesh.product.deployed import DeployedProduct
from hexmesh.product.policy.arrow import discoverable_schema
from hexmesh.product.policy.sidecar import PolicySidecar

__all__ = ["discovery_view", "reads_every_row", "slo_checks"]

#: Whether a ``dp://`` address names nothing the caller may not discover.
Sees = Callable[[str | None], bool]

#: Product keys shown as the node built them: identity, owners, versions, where the ports are.
_PRODUCT = (
    "@context",
    "@id",
    "@type",
    "dct:identifier",
    "dct:title",
    "dct:description",
    "hexmesh:domain",
    "dcat:version",
    "hexmesh:lifecycle",
    "hexmesh:major",
    "dcat:endpointURL",
    "dcat:keyword",
    "dct:publisher",
    "dcat:contactPoint",
    "hexmesh:readme",
    "hexmesh:examples",  # counts only; each block's detail (hexmesh:exampleResults) is the owners'
    "hexmesh:versions",
    "hexmesh:majors",
    "hexmesh:observability",
    "hexmesh:control",
    "dct:hasFormat",
)
#: What a caller that may only ask for a port learns of it.
_STUB = ("@id", "@type", "dct:identifier", "dct:title", "dct:description")
_DATASET = (*_STUB, "hexmesh:mode", "hexmesh:slo")
_FIELD = (
    "hexmesh:name",
    "hexmesh:logicalType",
    "hexmesh:required",
    "dct:description",
    "hexmesh:classification",
    "hexmesh:concept",
)
#: The ports' ways in, by title: never the Iceberg table (the owner's storage: reading it bypasses policies).
_DISTRIBUTIONS = re.compile(r"files \(\w+\)|snapshots|events \(Server-Sent Events\)|events \(WebSocket\)|Python|SQL .*")
_DISTRIBUTION = ("@type", "dct:title", "dcat:downloadURL", "dcat:accessURL", "dcat:mediaType", "hexmesh:snippet")
_SQL_DISTRIBUTION = (*_DISTRIBUTION, "hexmesh:table")
_SLO_CHECK = ("name", "status", "actual", "target", "detail")
_INPUT = ("hexmesh:name", "hexmesh:window")
#: Of an operational source, its kind only: its settings (paths, DSNs) are the owner's.
_SOURCE = ("format", "kind", "mode")
_RUN = ("hexmesh:run", "hexmesh:status", "dct:issued")
_CHECK = ("port", "check", "passed")
_ACCESS = ("hexmesh:policySource", "hexmesh:policyRevision", "hexmesh:howTo")
_GOVERNANCE = (
    "@type",
    "hexmesh:ruleset",
    "hexmesh:rulesetDigest",
    "hexmesh:rulesetRevision",
    "hexmesh:passed",
    "dct:issued",
)
#: A rule finding (``[blocking] core.owner at field:x.y: message``): which rule, not where nor why.
_FINDING = re.compile(r"\[(blocking|warning)\] [\w.:-]+")
#: SLO checks whose numbers and details are counts or column statistics.
_COUNTED = ("volume", "schema", "completeness", "drift")


def discovery_view(
    sidecar: PolicySidecar,
    product: DeployedProduct,
    principal: Principal,
    document: dict[str, Any],
    sees: Sees,
) -> dict[str, Any]:
    """``document`` (the node's, for owners) as ``principal`` may see it: the same object for whoever
    controls the product, else a new one built from the keys above."""
    decider = sidecar.decider(product)
    if decider.decide(principal, "control").allowed:
        return document
    may_ask = decider.decide(principal, "requestAccess").allowed
    datasets, hidden = [], {}
    for dataset in _dicts(document.get("dcat:servesDataset")):
        port = str(dataset.get("dct:title"))
        schema = discoverable_schema(sidecar, product, principal, port)
        if schema is None:
            if may_ask:  # it must see what there is to ask for, not what is in it
                datasets.append(_pick(dataset, _STUB) | {"hexmesh:access": "request"})
            continue
        names = set(schema.names)
        hidden[port] = {str(f.get("hexmesh:name")) for f in _dicts(dataset.get("hexmesh:schema"))} - names
        whole = reads_every_row(sidecar.plan(product, principal, port))
        datasets.append(_dataset(dataset, names, whole, sees))
    view = _pick(document, _PRODUCT)
    view["dcat:servesDataset"] = datasets
    view["hexmesh:lineage"] = _lineage(_dict(document.get("hexmesh:lineage")), sees)
    view["hexmesh:quality"] = [
        _pick(run, _RUN)
        | {"hexmesh:checks": [_pick(c, _CHECK) for c in _dicts(run.get("hexmesh:checks")) if _names_none(c, hidden)]}
        for run in _dicts(document.get("hexmesh:quality"))
    ]
    view["hexmesh:access"] = _pick(_dict(document.get("hexmesh:access")), _ACCESS) | {"hexmesh:policies": []}
    governance = document.get("hexmesh:governance")
    view["hexmesh:governance"] = None if not isinstance(governance, dict) else _governance(governance)
    return view


def reads_every_row(plan: ReadPlan) -> bool:
    """Whether the plan reads every row as stored (counts of rows then tell it nothing new)."""
    return plan.decision.allowed and plan.variant == "rows" and plan.row_filter is None and not plan.min_group


def slo_checks(checks: Iterable[Mapping[str, Any]], whole: bool) -> list[dict[str, Any]]:
    """SLO checks; the numbers and details of those computed from rows and statistics only for readers of every row.

    Completeness says how many rows a publication had, drift how a column's statistics moved: a reader
    of some rows (or of none) gets their verdicts only.
    """
    if whole:
        return [dict(c) for c in checks]
    hidden = {"actual": None, "target": None, "detail": "shown to readers of every row"}
    return [{**c, **hidden} if c.get("name") in _COUNTED else dict(c) for c in checks]


def _dataset(dataset: Mapping[str, Any], names: set[str], whole: bool, sees: Sees) -> dict[str, Any]:
    status = _dict(dataset.get("hexmesh:sloStatus"))
    event_time = dataset.get("hexmesh:eventTime")
    return _pick(dataset, _DATASET) | {
        "hexmesh:schema": [
            _field(f, sees) for f in _dicts(dataset.get("hexmesh:schema")) if f.get("hexmesh:name") in names
        ],
        "hexmesh:primaryKey": [c for c in dataset.get("hexmesh:primaryKey") or [] if c in names],
        "hexmesh:eventTime": event_time if event_time in names else None,
        "hexmesh:sloStatus": {
            "hexmesh:status": status.get("hexmesh:status"),
            "hexmesh:checks": slo_checks([_pick(c, _SLO_CHECK) for c in _dicts(status.get("hexmesh:checks"))], whole),
        },
        "dcat:distribution": [
            _pick(d, _SQL_DISTRIBUTION if str(d.get("dct:title", "")).startswith("SQL") else _DISTRIBUTION)
            for d in _dicts(dataset.get("dcat:distribution"))
            if _DISTRIBUTIONS.fullmatch(str(d.get("dct:title", "")))
        ],
    }


def _field(field: Mapping[str, Any], sees: Sees) -> dict[str, Any]:
    links = field.get("hexmesh:links")
    shown = [link for link in links if isinstance(link, str) and sees(link)] if isinstance(links, list) else links
    return _pick(field, _FIELD) | {"hexmesh:links": shown}


def _lineage(lineage: Mapping[str, Any], sees: Sees) -> dict[str, Any]:
    inputs = []
    for port in _dicts(lineage.get("hexmesh:inputPorts")):
        source = port.get("hexmesh:source")
        upstream = port.get("hexmesh:from")
        inputs.append(
            _pick(port, _INPUT)
            | {
                "hexmesh:from": upstream if isinstance(upstream, str) and sees(upstream) else None,
                "hexmesh:source": _pick(source, _SOURCE) if isinstance(source, dict) else None,
            }
        )
    upstream = [u for u in lineage.get("hexmesh:upstream") or [] if isinstance(u, str) and sees(u)]
    return {"hexmesh:inputPorts": inputs, "hexmesh:upstream": upstream}


def _governance(governance: Mapping[str, Any]) -> dict[str, Any]:
    def rules(findings: Any) -> list[str]:
        found = (_FINDING.match(str(f)) for f in findings or [])
        return [m.group(0) for m in found if m is not None]

    return _pick(governance, _GOVERNANCE) | {
        "hexmesh:blocking": rules(governance.get("hexmesh:blocking")),
        "hexmesh:warnings": rules(governance.get("hexmesh:warnings")),
    }


def _names_none(check: Mapping[str, Any], hidden: Mapping[str, Collection[str]]) -> bool:
    """Whether a quality check is about a port the caller sees and names none of its hidden columns."""
    port = check.get("port")
    if port is not None and port not in hidden:
        return False
    columns: Iterable[str] = hidden.get(port, ()) if port is not None else {c for cs in hidden.values() for c in cs}
    text = f"{check.get('check', '')} {check.get('detail', '')}"
    return not any(re.search(rf"\b{re.escape(c)}\b", text) for c in columns)


def _pick(found: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {k: found[k] for k in keys if k in found}


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
