"""The discovery port: the node's catalog and each product's DCAT description."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from hexmesh.product.discovery import CONTEXT, catalog_entry, describe
from hexmesh.server import governed
from hexmesh.server.deps import Caller, Domain, JsonLd, Name, NodeDep
from hexmesh.server.problems import responses

router = APIRouter(tags=["discovery"])


@router.get("/", response_class=JsonLd, summary="The products this node serves (dcat:Catalog)")
def catalog(node: NodeDep) -> dict[str, Any]:
    products = sorted(node.deployed().values(), key=lambda p: p.key)
    return {
        "@context": CONTEXT,
        "@id": node.endpoints.base_url + "/",
        "@type": "dcat:Catalog",
        "dct:title": "hexmesh node",
        "hexmesh:sqlDsn": node.endpoints.sql_dsn,
        "dcat:service": [catalog_entry(p, node.endpoints) for p in products],
    }


@router.get(
    "/products/{domain}/{name}",
    response_class=JsonLd,
    summary="Everything needed to find, understand, trust and use a product (DCAT 3, JSON-LD)",
    responses=responses(401, 404),
)
def product(domain: Domain, name: Name, node: NodeDep, caller: Caller) -> dict[str, Any]:
    found = node.product(domain, name)
    lifecycle = node.control.lifecycle(found.key, found.spec.status)
    document = describe(node.runtime, found, node.endpoints, lifecycle)
    return document if caller is None else governed.visible_document(node, caller, document)
