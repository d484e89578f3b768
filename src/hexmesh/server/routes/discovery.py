"""The discovery port: the node's catalog and each product's DCAT description."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response

from hexmesh.product.discovery import CONTEXT, catalog_entry
from hexmesh.product.policy import one_request
from hexmesh.server.deps import Caller, Domain, JsonLd, Name, NodeDep, etag_matches
from hexmesh.server.problems import responses
from hexmesh.serving import disclosure

router = APIRouter(tags=["discovery"])


@router.get(
    "/", response_class=JsonLd, summary="The products this node serves (dcat:Catalog)", responses=responses(401)
)
def catalog(node: NodeDep, caller: Caller) -> dict[str, Any]:
    """With policies enforced, the products the caller may discover (anonymous: the public ones)."""
    products = sorted(node.deployed().values(), key=lambda p: p.key)
    if caller is not None:
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


@router.get(
    "/products/{domain}/{name}",
    response_class=JsonLd,
    summary="Everything needed to find, understand, trust and use a product (DCAT 3, JSON-LD)",
    responses={**responses(401, 403, 404), 304: {"description": "Not modified (If-None-Match)"}},
)
def product(
    domain: Domain,
    name: Name,
    node: NodeDep,
    caller: Caller,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The document is cached per version of what it says: revalidate with ``If-None-Match``."""
    document = node.discovery(domain, name)
    if caller is not None:  # the caller's view: ports and columns it may not see are left out
        with one_request():
            found = node.product(domain, name)
            disclosure.require_discovery(node, caller, found)
            visible = disclosure.visible_document(node, caller, document.content, found)
        if visible is not document.content:
            return JsonLd(visible, headers={"Cache-Control": "no-cache", "Vary": "Authorization"})
        # The caller sees all of it (an owner): the cached bytes, revalidated like everyone's on an open node.
    headers = {"ETag": document.etag, "Cache-Control": "no-cache", **({"Vary": "Authorization"} if caller else {})}
    if etag_matches(if_none_match, document.etag):
        return Response(status_code=304, headers=headers)
    return Response(document.body, media_type=JsonLd.media_type, headers=headers)
