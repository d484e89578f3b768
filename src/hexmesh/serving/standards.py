"""The discovery port in the open standards: a product as ODPS, ODCS, DPDS or DCS, shaped per caller.

Documents are exported from the spec the caller may know (``product.policy.disclosed_spec``, an
allow-list of what it may discover), never from the deployed spec: the owner (and a node without
``--auth``) gets everything, anyone else the ports and fields a policy lets it discover.
"""

from __future__ import annotations

import json
from typing import Any

from hexmesh.errors import NotFoundError
from hexmesh.governance import Principal
from hexmesh.product.policy import one_request
from hexmesh.product.policy.disclosed import disclosed_spec
from hexmesh.serving import disclosure
from hexmesh.serving.node import Node
from hexmesh.spec import DataProductSpec
from hexmesh.standards import FORMATS, ExportFormat, dump_document, export_documents

__all__ = ["MEDIA_TYPES", "standard_document"]

#: What each document is served as (and what ``Accept`` asks for it by).
MEDIA_TYPES: dict[str, str] = {
    "odps": "application/odps+yaml",
    "odcs": "application/odcs+yaml",
    "dpds": "application/dpds+json",
    "dcs": "application/datacontract+yaml",
}


def _spec(node: Node, principal: Principal, domain: str, name: str) -> DataProductSpec:
    product = node.product(domain, name)
    if disclosure.may_control(node, principal, product):
        return product.spec
    disclosure.require_discovery(node, principal, product)
    visible = {port: schema.names for port, schema in disclosure.discoverable_ports(node, principal, product).items()}
    return disclosed_spec(product.spec, visible, lambda address: disclosure.sees(node, principal, address))


def standard_document(
    node: Node,
    principal: Principal,
    domain: str,
    name: str,
    fmt: str,
    *,
    port: str | None = None,
    as_json: bool = False,
) -> tuple[str, str]:
    """``(media type, text)`` of the product in ``fmt``; ``port`` picks one port's ODCS contract."""
    if fmt not in FORMATS:
        raise NotFoundError(f"no {fmt!r} description; the discovery port serves {', '.join(FORMATS)}")
    chosen: ExportFormat = fmt  # type: ignore[assignment]
    with one_request():
        spec = _spec(node, principal, domain, name)
    versions = {
        f"dp://{key}": product.record.version
        for key, product in node.deployed().items()
        if disclosure.sees(node, principal, f"dp://{key}")
    }
    documents = export_documents(spec, "odps" if port else chosen, base_url=node.endpoints.base_url, upstream=versions)
    if port is not None:
        if fmt != "odcs":
            raise NotFoundError(f"only ODCS describes one port; ask for /standards/odcs?port={port}")
        wanted = f"{spec.name}.{port}.odcs.yaml"
        if wanted not in documents:
            raise NotFoundError(f"no port {port!r} of dp://{domain}/{name} you may discover")
        documents = {wanted: documents[wanted]}
    else:
        documents = {n: d for n, d in documents.items() if fmt != "odps" or n.endswith(".odps.yaml")}
    (file, document), *_ = documents.items()
    return _render(file, document, fmt, as_json)


def _render(file: str, document: dict[str, Any], fmt: str, as_json: bool) -> tuple[str, str]:
    if as_json or fmt == "dpds":
        return ("application/json" if as_json else MEDIA_TYPES[fmt]), json.dumps(document, indent=2) + "\n"
    return MEDIA_TYPES[fmt], dump_document(file, document)
