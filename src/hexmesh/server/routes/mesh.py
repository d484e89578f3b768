"""The mesh API: search, registry and peers, knowledge graph, lineage; and the web UI's pages.

Every route parses its input, calls :class:`~hexmesh.serving.MeshHub` or the
``hexmesh.mesh`` library and returns JSON; errors become problem+json in ``problems``.
Including this router also starts the federation's refresh loop (its lifespan).

Answers show the mesh as the caller may see it (:mod:`hexmesh.serving.visibility`): on a node
served with ``--auth``, this node's products, ports and columns the caller's token (a bearer
header, or the web UI's sign-in cookie) may not discover are left out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from hexmesh.mesh import impact, to_jsonld, to_turtle
from hexmesh.mesh.federation import AnnounceLimitError, PeerState
from hexmesh.mesh.semantic import MODES
from hexmesh.server.deps import Domain, JsonLd, Name, bearer_token
from hexmesh.server.problems import problem_response, responses
from hexmesh.server.ui.access_requests import router as access_router
from hexmesh.server.ui.actions import router as actions_router
from hexmesh.server.ui.mine import router as mine_router
from hexmesh.server.ui.pages import fallback as pages_fallback
from hexmesh.server.ui.pages import router as pages_router
from hexmesh.server.ui.preview import router as preview_router
from hexmesh.server.ui.signin import router as signin_router
from hexmesh.server.viewer import hub_of, seen_by
from hexmesh.serving import MeshHub, authorize_announcement, concept_index

__all__ = ["router"]


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    hub = MeshHub(app.state.node)
    app.state.mesh = hub
    async with hub.running():
        yield


def _per_caller(response: Response) -> None:
    # Answers depend on who asks (bearer header or sign-in cookie): no shared cache may mix them up.
    response.headers["Vary"] = "Authorization, Cookie"


router = APIRouter(lifespan=_lifespan)
api = APIRouter(prefix="/api", tags=["mesh"], dependencies=[Depends(_per_caller)])


_WARM_WAIT = 5.0
_PORT = r"(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"


class Announcement(BaseModel):
    # The pattern is documented for clients, but checked by PeerPolicy.admit, whose errors say
    # what is wrong (credentials, a path, the scheme), which a failed regex could not.
    url: str = Field(
        description="Base URL of the announcing node, e.g. http://127.0.0.1:8081",
        max_length=300,
        json_schema_extra={"pattern": rf"^https?://[A-Za-z0-9.\-]+{_PORT}/?$"},
    )


@api.get("/search", responses=responses(400, 501))
def search(
    request: Request,
    q: Annotated[str, Query(max_length=1000, description="e.g. listener domain:podcasts")] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
    mode: Annotated[
        Literal["keyword", "semantic", "hybrid", "embedding"],
        Query(description="keyword; semantic (= hybrid: keywords and meaning fused); embedding (meaning only)"),
    ] = "keyword",
) -> dict[str, Any]:
    """Ranked, typo-tolerant search over the whole mesh, with facets and corrections.

    ``mode=semantic`` needs the node's ``semantic`` extra (501 without it). Until the node has
    loaded the model, it answers keyword results with ``"mode": "keyword"`` and a ``notice``.
    """
    seen = seen_by(request)
    federation = seen.hub.federation
    used = MODES[mode]
    # The first semantic search loads the model (seconds): answer with keywords meanwhile.
    warming = used != "keyword" and not federation.semantic_ready(wait=_WARM_WAIT)
    if warming:
        used = "keyword"
    body = seen.search(q, used, limit, offset).to_dict()
    body["mode"] = used
    if warming:
        body["notice"] = (
            "semantic search is warming up (loading the model, embedding the products); these are keyword "
            "results. Try again in a few seconds."
        )
    return body


@api.get("/registry")
def registry(request: Request) -> dict[str, Any]:
    """Every product this node knows (its own and its peers') that the caller may see, with staleness."""
    seen = seen_by(request)
    federation = seen.hub.federation
    return {
        "node": federation.node_url,
        "products": seen.registry.to_dicts(),
        "peers": [_peer(p) for p in federation.peers.values()],
        "rejected": seen.rejected(federation.local_rejected),
    }


@api.get("/peers")
def peers(request: Request) -> list[dict[str, Any]]:
    """Peers and what their last pull did (ok, unreachable, rejected documents)."""
    return [_peer(p) for p in hub_of(request).federation.peers.values()]


@api.post("/peers", status_code=202, responses=responses(400, 401, 403, 429), response_model=None)
def announce(body: Announcement, request: Request) -> dict[str, Any] | Response:
    """A node announces itself: it becomes a peer and is pulled now.

    Announcing makes this node fetch the URL, so it needs a governance token (``Authorization:
    Bearer``) unless it comes from this machine to a node served without ``--auth``.
    """
    hub = hub_of(request)
    token = bearer_token(request.headers.get("authorization"))
    authorize_announcement(hub.node, request.client.host if request.client else "", token)
    try:
        return _peer(hub.federation.announce(body.url))
    except AnnounceLimitError as exc:
        answer = problem_response(request, 429, "announce-limit", str(exc))
        answer.headers["Retry-After"] = str(exc.retry_after)
        return answer


@api.post("/registry/refresh", responses=responses(401))
def refresh(request: Request) -> dict[str, Any]:
    """Re-index this node's products and pull every peer now (signed-in callers, on a node with ``--auth``)."""
    hub_of(request).refresh(seen_by(request))
    return registry(request)


@api.get("/graph/concepts")
def concepts(
    request: Request,
    concept: Annotated[str | None, Query(max_length=500, description="IRI or schema:name")] = None,
) -> dict[str, Any]:
    """Which products carry data about ``concept`` (all concepts and their products without it)."""
    graph = seen_by(request).graph
    if concept is None:
        return {"concepts": concept_index(graph)}
    uses = graph.products_about(concept)
    return {
        "concept": concept,
        "products": [{"product": u.product, "fields": list(u.fields), "via": u.via} for u in uses],
    }


@api.get("/graph/join", responses=responses(400, 404))
def join(
    request: Request,
    a: Annotated[str, Query(alias="from", max_length=200, description="domain/product")],
    b: Annotated[str, Query(alias="to", max_length=200, description="domain/product")],
    max_hops: Annotated[int, Query(ge=1, le=5)] = 3,
) -> dict[str, Any]:
    """How to join product ``from`` with product ``to``: field pairs, hop by hop."""
    seen = seen_by(request)
    left, right = seen.entry(a.removeprefix("dp://")), seen.entry(b.removeprefix("dp://"))
    paths = seen.graph.join_paths(left.key, right.key, max_hops=max_hops)
    return {"from": left.key, "to": right.key, "paths": [p.to_dict() for p in paths]}


@api.get("/graph.ttl", response_class=Response)
def turtle(request: Request) -> Response:
    """The knowledge graph as RDF Turtle."""
    text = to_turtle(seen_by(request).graph)
    return Response(text, media_type="text/turtle")


@api.get("/graph.jsonld", response_class=JsonLd)
def jsonld(request: Request) -> dict[str, Any]:
    """The knowledge graph as JSON-LD."""
    return to_jsonld(seen_by(request).graph)


@api.get("/lineage/{domain}/{name}", responses=responses(404))
def lineage(domain: Domain, name: Name, request: Request) -> dict[str, Any]:
    """Products upstream and downstream of a product, the edges between them, the node serving each
    product, and the edges that cross nodes (inputs read from another node's files port)."""
    seen = seen_by(request)
    key = seen.entry(f"{domain}/{name}").key
    graph = seen.lineage
    up, down = graph.upstream(key), graph.downstream(key)
    near = {key, *up, *down}
    edges = [e for e in graph.edges if e[0] in near and e[1] in near]
    return {
        "product": key,
        "upstream": up,
        "downstream": down,
        "edges": [list(e) for e in edges],
        "nodes": {k: graph.nodes[k] for k in sorted(near) if k in graph.nodes},
        "across": [list(e) for e in edges if graph.across(e)],
    }


@api.get("/lineage/{domain}/{name}/columns", responses=responses(404))
def columns(domain: Domain, name: Name, request: Request) -> dict[str, Any]:
    """Column lineage of each output port, from the product's SQL (products of this node)."""
    seen = seen_by(request)
    return seen.hub.column_lineage(f"{domain}/{name}", seen)


@api.get("/impact", responses=responses(400, 404))
def port_impact(
    request: Request,
    port: Annotated[
        str,
        Query(
            max_length=400,
            # dp://domain/product[@major]/port, as hexmesh.spec.address reads it
            pattern=r"^dp://[a-z][a-z0-9]*(-[a-z0-9]+)*/[a-z][a-z0-9]*(-[a-z0-9]+)*(@[0-9]{1,6})?/[a-z_][a-z0-9_]*$",
        ),
    ],
) -> dict[str, Any]:
    """What breaks if ``port`` (dp://domain/product/port) changes: the products downstream of it,
    transitively, nearest first, with owners and their affected ports; as the caller may see the mesh."""
    return impact(seen_by(request).entries, port).to_dict()


def _peer(state: PeerState) -> dict[str, Any]:
    return {
        "url": state.url,
        "status": state.status,
        "announced": state.announced,
        "lastOk": state.last_ok,
        "lastError": state.last_error,
        "products": state.products,
        "rejected": state.rejected,
    }


router.include_router(api)
router.include_router(pages_router)
router.include_router(access_router)
router.include_router(signin_router)
router.include_router(mine_router)
router.include_router(actions_router)
router.include_router(preview_router)
router.include_router(pages_fallback)  # last: only paths no other /ui route serves
