"""The discovery port as a node serves it: its catalog and each product's document, as each caller may see them."""

from __future__ import annotations

from typing import Any

from hexmesh.governance import Principal
from hexmesh.product.discovery import CONTEXT, catalog_entry
from hexmesh.product.policy import one_request
from hexmesh.serving import disclosure
from hexmesh.serving.node import Document, Node

__all__ = ["control_document", "node_catalog", "product_document"]


def node_catalog(node: Node, caller: Principal) -> dict[str, Any]:
    """The products of the node the caller may discover, as a ``dcat:Catalog``."""
    products = sorted(node.deployed().values(), key=lambda p: p.key)
    with one_request():
        products = [p for p in products if disclosure.may_discover(node, caller, p)]
    return {
        "@context": CONTEXT,
        "@id": node.endpoints.base_url + "/",
        "@type": "dcat:Catalog",
        "dct:title": "hexmesh node",
        "hexmesh:sqlDsn": node.endpoints.sql_dsn,
        "dcat:service": [catalog_entry(p, node.endpoints) for p in products],
    }


def product_document(node: Node, domain: str, name: str, caller: Principal) -> Document | dict[str, Any]:
    """The product's cached document when the caller sees all of it, else the part the caller may see.

    Raises AuthenticationError or AccessDeniedError when the caller may not discover the product.
    """
    document = node.discovery(domain, name)
    with one_request():
        found = node.product(domain, name)
        disclosure.require_discovery(node, caller, found)
        visible = disclosure.visible_document(node, caller, document.content, found)
    return document if visible is document.content else visible


_OFFERS = (
    ("POST", "/runs", "run the product now (?full_refresh=true recomputes every port)"),
    ("POST", "/backfill", "recompute an event-time window {since, until} and publish it as a new snapshot"),
    ("POST", "/pause", "refuse runs until resumed"),
    ("POST", "/resume", "accept runs again"),
    ("GET", "/policies", "the policies in force"),
    ("PUT", "/policies", "replace the policies"),
    ("POST", "/lifecycle", "move the product to another lifecycle state (deprecate with a sunset, retire)"),
    ("GET", "/audit", "every access decision on its ports and every control action"),
)


def control_document(node: Node, key: str) -> dict[str, Any]:
    """What the control port (the discovery document's ``hexmesh:control``) offers, and whether it is paused."""
    base = f"{node.endpoints.product(key)}/control"
    return {
        "@context": CONTEXT,
        "@id": base,
        "@type": "hexmesh:ControlPort",
        "dct:identifier": f"dp://{key}",
        "hexmesh:paused": node.control.paused(key),
        "hexmesh:offers": [
            {"hexmesh:method": method, "hexmesh:target": {"@id": base + path}, "dct:description": what}
            for method, path, what in _OFFERS
        ],
    }
