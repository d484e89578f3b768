"""The web UI's pages: home and search, product, knowledge graph, SLO dashboard, nodes.

Pages are rendered on the server with Jinja2 (autoescaped); the only script is a small local
file for the copy buttons, and every page works without it. Errors the user can fix (a bad
search, an unknown product) are shown on the page, with the HTTP status they deserve.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

import hexmesh
from hexmesh.errors import HexmeshError, NotFoundError
from hexmesh.server.deps import Domain, Name
from hexmesh.server.ui import views
from hexmesh.server.ui.icons import ICONS
from hexmesh.server.ui.results import search_page
from hexmesh.server.ui.visitor import clear_cookie, visitor_of
from hexmesh.server.viewer import hub_of, seen_by
from hexmesh.serving import concept_index

__all__ = ["router"]

router = APIRouter(prefix="/ui", include_in_schema=False)
#: Included after every other /ui router: a path none of them serves is a page, not problem+json.
fallback = APIRouter(prefix="/ui", include_in_schema=False)
_env = Environment(
    loader=PackageLoader("hexmesh.server.ui", "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals.update(icon=ICONS.get, status=views.status, version=hexmesh.__version__)
_STATIC = {"hexmesh.css": "text/css", "hexmesh.js": "text/javascript", "logo.svg": "image/svg+xml"}
Text = Annotated[str, Query(max_length=1000)]


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page; its header shows who is signed in, and a dropped sign-in cookie is cleared."""
    visitor = visitor_of(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    page = _env.get_template(template).render(request_path=request.url.path, visitor=visitor, here=here, **context)
    response = HTMLResponse(page, status_code=status_code)
    if visitor.drop_cookie:
        clear_cookie(request, response)
    if visitor.auth:  # what a page shows depends on who asks
        response.headers["Vary"] = "Authorization, Cookie"
    if visitor.signed_in or visitor.drop_cookie:
        response.headers["Cache-Control"] = "no-store"
    return response


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
def home(request: Request, q: Text = "", mode: Annotated[str, Query(max_length=20)] = "keyword") -> HTMLResponse:
    hub = hub_of(request)
    federation = hub.federation
    seen = seen_by(request)
    semantic, notice = mode == "semantic" and bool(q.strip()), None
    if semantic:
        try:
            if not federation.semantic_ready(wait=5.0):
                semantic, notice = False, "Search by meaning is warming up (loading its model): keyword results."
        except HexmeshError as exc:  # the extra is not installed on this node
            semantic, notice = False, f"{exc}. These are keyword results."
    run = (lambda query, limit: seen.search(query.text, "hybrid", limit)) if semantic else None
    page = search_page(seen.index, q, mode="semantic" if mode == "semantic" else "keyword", run=run)
    entries = seen.entries
    return render(
        request,
        "home.html",
        400 if page["error"] else 200,
        domains=views.domains(entries),
        product_count=len(entries),
        stale=sum(e.stale for e in entries),
        notice=notice,
        **page,
    )


@router.get("/products/{domain}/{name}", response_class=HTMLResponse)
def product(
    domain: Domain, name: Name, request: Request, reading_for: Annotated[str, Query(max_length=200)] = ""
) -> HTMLResponse:
    hub, seen = hub_of(request), seen_by(request)
    try:
        base, major = served_major(name)
        view = hub.view(f"{domain}/{base}", seen, major)
    except NotFoundError as exc:
        return render(request, "missing.html", 404, message=str(exc))
    # Peers' products are asked for through their own node, which may enforce policies.
    access_form = not view.local or hub.node.sidecar is not None
    return render(
        request, "product.html", access_form=access_form, **views.product_page(seen, view, reading_for.strip())
    )


def served_major(name: str) -> tuple[str, int | None]:
    """``shop@1`` -> (``shop``, 1): a product's path names one of its live majors; ``shop`` the newest."""
    base, at, major = name.partition("@")
    if not at:
        return name, None
    if not major.isdigit():
        raise NotFoundError(f"{name!r} names no major: write {base}@N, N a major version (e.g. {base}@1)")
    return base, int(major)


@router.get("/graph", response_class=HTMLResponse)
def graph(
    request: Request,
    concept: Text = "",
    a: Annotated[str, Query(alias="from", max_length=200)] = "",
    b: Annotated[str, Query(alias="to", max_length=200)] = "",
) -> HTMLResponse:
    seen = seen_by(request)
    knowledge = seen.graph
    context: dict[str, Any] = {
        "concepts": concept_index(knowledge),
        "concept": concept,
        "uses": knowledge.products_about(concept) if concept.strip() else None,
        "keys": [e.key for e in seen.entries],
        "a": a,
        "b": b,
        "paths": None,
        "join_error": None,
    }
    if a and b:
        try:
            left, right = seen.entry(a.removeprefix("dp://")), seen.entry(b.removeprefix("dp://"))
            context["paths"] = knowledge.join_paths(left.key, right.key)
        except HexmeshError as exc:
            context["join_error"] = str(exc)
    return render(request, "graph.html", 400 if context["join_error"] else 200, **context)


@router.get("/lineage", response_class=HTMLResponse)
def lineage(request: Request, port: Annotated[str, Query(max_length=400)] = "") -> HTMLResponse:
    """The mesh's lineage; with ``port``, what breaks if that port changes (as the visitor may see it)."""
    seen = seen_by(request)
    try:
        return render(request, "lineage.html", error=None, **views.lineage_page(seen, port))
    except HexmeshError as exc:
        context = views.lineage_page(seen, "")
        return render(request, "lineage.html", exc.http_status, **(context | {"port": port, "error": str(exc)}))


@router.get("/slo", response_class=HTMLResponse)
def slo(request: Request) -> HTMLResponse:
    return render(request, "slo.html", **views.slo_board(seen_by(request)))


@router.get("/nodes", response_class=HTMLResponse)
def nodes(request: Request) -> HTMLResponse:
    federation, seen = hub_of(request).federation, seen_by(request)
    return render(
        request,
        "nodes.html",
        node=federation.node_url,
        peers=list(federation.peers.values()),
        local=[e for e in seen.entries if e.node_url == federation.node_url],
        local_rejected=seen.rejected(federation.local_rejected),
    )


@router.get("/static/{name}")
def static(name: str) -> Response:
    if name not in _STATIC:
        return Response("not found", status_code=404, media_type="text/plain")
    body = files("hexmesh.server.ui").joinpath("static", name).read_bytes()
    return Response(body, media_type=_STATIC[name], headers={"Cache-Control": "max-age=300"})


@fallback.get("/{rest:path}", response_class=HTMLResponse)
def missing(rest: str, request: Request) -> HTMLResponse:
    """An unknown /ui path: the page a browser can show, with the way back (404)."""
    return render(
        request,
        "missing.html",
        404,
        heading="Page not found",
        message=f"There is no page at /ui/{rest}. Search the mesh, or open a product from its results.",
    )
