"""The discovery port: the node's catalog and each product's DCAT description."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response

from hexmesh.server.deps import Caller, Domain, JsonLd, Name, NodeDep, etag_matches
from hexmesh.server.problems import responses
from hexmesh.serving import Document
from hexmesh.serving.discovery import node_catalog, product_document
from hexmesh.serving.standards import MEDIA_TYPES, standard_document

router = APIRouter(tags=["discovery"])


@router.get(
    "/", response_class=JsonLd, summary="The products this node serves (dcat:Catalog)", responses=responses(401)
)
def catalog(node: NodeDep, caller: Caller) -> dict[str, Any]:
    """With policies enforced, the products the caller may discover (anonymous: the public ones)."""
    return node_catalog(node, caller)


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
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """The document is cached per version of what it says: revalidate with ``If-None-Match``.

    ``Accept: application/odps+yaml`` (or odcs, dpds, datacontract) answers in that standard instead.
    """
    wanted = next((fmt for fmt, media in MEDIA_TYPES.items() if media in (accept or "")), None)
    if wanted is not None:
        media, text = standard_document(node, caller, domain, name, wanted)
        return Response(text, media_type=media, headers={"Vary": "Accept, Authorization"})
    document = product_document(node, domain, name, caller)
    if not isinstance(document, Document):  # the caller's view: ports and columns it may not see are left out
        return JsonLd(document, headers={"Cache-Control": "no-cache", "Vary": "Authorization"})
    # Everything (an owner, or an open node): the cached bytes, revalidated with their ETag.
    headers = {"ETag": document.etag, "Cache-Control": "no-cache", **({"Vary": "Authorization"} if caller else {})}
    if etag_matches(if_none_match, document.etag):
        return Response(status_code=304, headers=headers)
    return Response(document.body, media_type=JsonLd.media_type, headers=headers)


@router.get(
    "/products/{domain}/{name}/standards/{fmt}",
    summary="The product in an open standard: ODPS, ODCS (all ports, or ?port=), DPDS or DCS",
    responses={**responses(401, 403, 404), 200: {"content": {m: {} for m in MEDIA_TYPES.values()}}},
)
def standard(
    domain: Domain,
    name: Name,
    fmt: Literal["odps", "odcs", "dpds", "dcs"],
    node: NodeDep,
    caller: Caller,
    port: Annotated[str | None, Query(description="ODCS: the contract of this one port.", max_length=63)] = None,
    as_json: Annotated[bool, Query(alias="json", description="JSON instead of YAML.")] = False,
) -> Response:
    """Exported from what the caller may discover: ports, fields and links a policy hides are not in it."""
    media, text = standard_document(node, caller, domain, name, fmt, port=port, as_json=as_json)
    return Response(text, media_type=media, headers={"Vary": "Authorization"})
