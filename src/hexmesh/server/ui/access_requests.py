"""The web UI's access requests: a consumer asks for a port, an owner approves or denies.

Who asks or decides is the visitor signed in to the UI (:mod:`hexmesh.server.ui.signin`), or,
without a sign-in, the API token in the form's body (a password field; ``hexmesh.js`` keeps it
in ``sessionStorage`` so it is typed once per tab). The sign-in cookie stands in for the token
only on a post that the browser says comes from this node's own page (``Origin``); a post from
another site is refused whatever it carries (:mod:`hexmesh.server.ui.forms`). Pages that carry
the token (the owner's list without a sign-in) are ``no-store``. Products of other nodes are
asked for through their own node's HTTP API, with the token typed in the form.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hexmesh.errors import HexmeshError, NotFoundError
from hexmesh.governance import ANONYMOUS, Principal
from hexmesh.governance.grants import AccessRequest
from hexmesh.mesh import ProductEntry
from hexmesh.server.deps import SIGN_IN_COOKIE, Domain, Name, PortName, principal_of
from hexmesh.server.ui.forms import FormError, session_form
from hexmesh.server.ui.pages import render
from hexmesh.server.ui.visitor import visitor_of
from hexmesh.server.viewer import hub_of
from hexmesh.serving import MeshHub, governed, visibility
from hexmesh.serving.node import Node

__all__ = ["router"]

router = APIRouter(prefix="/ui", include_in_schema=False)
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin"}


def _principal(node: Node, token: str) -> Principal:
    if node.sidecar is None:
        raise FormError(
            "this node serves with --no-auth: everyone may read its ports, so there is nothing to request "
            "or decide. Start it without --no-auth to enforce policies",
            409,
        )
    if not token.strip():
        raise FormError(
            "paste your API token (hxm_…) into the token field; `hexmesh token create <you>` makes one", 401
        )
    return node.sidecar.authenticate(token.strip())


def _when(us: int | None) -> str:
    return datetime.fromtimestamp(us / 1e6, tz=UTC).strftime("%Y-%m-%d %H:%M UTC") if us else ""


def _shown(found: AccessRequest | dict[str, Any]) -> dict[str, Any]:
    if isinstance(found, AccessRequest):
        return {"id": found.id, "status": found.status, "purpose": found.purpose, "expires": _when(found.expires_us)}
    expires = found.get("expires_us")
    return {
        "id": str(found.get("id", "")),
        "status": str(found.get("status", "")),
        "purpose": str(found.get("purpose", "")),
        "expires": _when(expires if isinstance(expires, int) else None),
    }


# -- a consumer asks --------------------------------------------------------------------------


@router.post("/products/{domain}/{name}/ports/{port}/access-requests", response_class=HTMLResponse)
async def ask(domain: Domain, name: Name, port: PortName, request: Request) -> HTMLResponse:
    hub = hub_of(request)
    context: dict[str, Any] = {"key": f"{domain}/{name}", "port": port, "purpose": "", "note": "", "ports": []}
    try:
        form = await session_form(request)
        context.update(purpose=form.get("purpose", ""), note=form.get("note", ""))
        entry, context["ports"] = _askable(hub, context["key"], form.get("token", ""))
        context["local"] = entry.node_url == hub.federation.node_url
        if port not in context["ports"]:
            shown = [p.name for p in entry.ports]
            listed = f"its ports are {', '.join(shown)}" if shown else "it shows you no port"
            raise FormError(f"{entry.key} has no output port {port!r}; {listed}", 404)
        if not context["purpose"].strip():
            raise FormError("say what the data will be used for (purpose): grants are bound to it", 400)
        if entry.node_url == hub.federation.node_url:
            created = _shown(_ask_here(hub.node, entry.key, port, form))
        else:
            created = _shown(_ask_there(hub, entry.node_url or "", entry.key, port, form))
    except HexmeshError as exc:
        return render(request, "access.html", exc.http_status, error=str(exc), **_form_context(request, context))
    return render(request, "access.html", 201, created=created, **_form_context(request, context))


def _form_context(request: Request, context: dict[str, Any]) -> dict[str, Any]:
    return {**context, "use_cookie": visitor_of(request).by_cookie and context.get("local", False)}


def _caller(hub: MeshHub, token: str) -> Principal:
    """Who ``token`` is, for what this node shows it (the unrestricted principal without --auth; anonymous if
    it is bad)."""
    sidecar = hub.node.sidecar
    if sidecar is None:
        return principal_of(hub.node, None)
    try:
        return sidecar.authenticate(token.strip() or None)
    except HexmeshError:
        return sidecar.authenticate(None)


def _askable(hub: MeshHub, key: str, token: str) -> tuple[ProductEntry, list[str]]:
    """The product asked for as the asker sees it, and the ports it may ask for.

    A hidden product is as unknown as a missing one; a visitor who is not signed in is told to
    sign in first (the product may be there for them). Someone signed in may ask for any port
    of a product it sees (the owner may have told it the name); others only for visible ones.
    """
    principal = _caller(hub, token)
    seen = visibility(hub, principal)
    found = hub.federation.registry.get(key)
    if principal == ANONYMOUS and (found is None or key in seen.hidden):
        _principal(hub.node, token)  # raises the 401 that says what is wrong with the token
    entry = seen.entry(key)
    signed_in = principal.authenticated
    every = found if found is not None and signed_in and entry.node_url == hub.federation.node_url else entry
    return entry, [p.name for p in every.ports]


def _ask_here(node: Node, key: str, port: str, form: dict[str, str]) -> AccessRequest:
    principal = _principal(node, form.get("token", ""))
    purpose = form["purpose"].strip()
    if principal.authenticated:
        assert node.sidecar is not None
        product = node.product(*key.split("/", 1))
        if node.sidecar.decider(product).decide(principal, "read", port, purpose=purpose).allowed:
            raise FormError(
                f"{principal.id} can already read {key}/{port} for {purpose!r}; no request is needed "
                "(connect with the snippets above, stating this purpose)",
                409,
            )
        pending = node.workspace.stewardship.requests(product=key, status="pending", principal_id=principal.id)
        same = [r for r in pending if r.port == port and r.purpose == purpose]
        if same:
            raise FormError(f"you already asked for {key}/{port} for {purpose!r}: request {same[0].id} is pending", 409)
    return governed.ask(node, principal, key, port, purpose, form.get("note", ""))


def _ask_there(hub: MeshHub, node_url: str, key: str, port: str, form: dict[str, str]) -> dict[str, Any]:
    # The sign-in cookie holds this node's token: it is never sent to another node.
    token = "" if "_signed_in" in form else form.get("token", "").strip()
    if not token:
        raise FormError(f"paste your API token for {node_url} into the token field", 401)
    url = f"{node_url}/products/{key}/ports/{port}/access-requests"
    try:
        answer = httpx.post(
            url,
            json={"purpose": form["purpose"], "note": form.get("note", "")},
            headers={"Authorization": f"Bearer {token}"},
            timeout=hub.federation.timeout * 3,
        )
        body = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise FormError(f"{node_url}, which serves {key}, did not answer ({exc}); try again later", 502) from None
    if not answer.is_success:
        detail = body.get("detail") if isinstance(body, dict) else None
        raise FormError(f"{node_url} refused: {detail or f'HTTP {answer.status_code}'}", answer.status_code)
    return dict(body) if isinstance(body, dict) else {}


# -- an owner decides ----------------------------------------------------------------------------


@router.get("/access-requests", response_class=HTMLResponse)
def inbox_form(request: Request) -> HTMLResponse:
    node = hub_of(request).node
    if visitor_of(request).by_cookie:  # a read: the sign-in cookie shows the list, the page never holds the token
        try:
            return _inbox(request, node, request.cookies.get(SIGN_IN_COOKIE, ""), 200, embed=False)
        except HexmeshError as exc:
            return _inbox_error(request, node, exc)
    return render(request, "requests.html", signed_in=False, auth=node.sidecar is not None)


@router.post("/access-requests", response_class=HTMLResponse)
async def inbox(request: Request) -> HTMLResponse:
    hub = hub_of(request)
    try:
        form = await session_form(request)
        return _inbox(request, hub.node, form.get("token", ""), 200, embed="_signed_in" not in form)
    except HexmeshError as exc:
        return _inbox_error(request, hub.node, exc)


@router.post("/access-requests/{request_id}/decision", response_class=HTMLResponse)
async def decide(request_id: str, request: Request) -> HTMLResponse:
    hub = hub_of(request)
    form: dict[str, str] = {}
    try:
        form = await session_form(request)
        token = form.get("token", "")
        principal = _principal(hub.node, token)
        verdict = form.get("verdict", "")
        if verdict not in ("approve", "deny"):
            raise FormError(f"choose Approve or Deny (got {verdict!r})")
        try:
            days = int(form.get("duration", "90"))
        except ValueError:
            raise FormError(f"the duration is a whole number of days, not {form.get('duration')!r}") from None
        if not 1 <= days <= 366:
            raise FormError(f"a grant lasts 1 to 366 days, not {days}")
        decided = governed.decide(hub.node, principal, request_id, verdict, form.get("note", ""), days)
    except HexmeshError as exc:
        if not form.get("token"):
            return _inbox_error(request, hub.node, exc)
        try:
            return _inbox(
                request,
                hub.node,
                form["token"],
                exc.http_status,
                embed="_signed_in" not in form,
                error=str(exc),
                failed=request_id,
                note=form.get("note", ""),
            )
        except HexmeshError:
            return _inbox_error(request, hub.node, exc)
    done = f"request {decided.id} by {decided.principal.id} for {decided.product}/{decided.port}: {decided.status}"
    return _inbox(request, hub.node, form["token"], 200, embed="_signed_in" not in form, message=done)


def _inbox(request: Request, node: Node, token: str, status: int, *, embed: bool, **extra: Any) -> HTMLResponse:
    """The pending requests of the products ``token``'s holder controls.

    Without a sign-in, the decision forms carry the token (``embed``); signed in, the cookie does.
    """
    principal = _principal(node, token)
    assert node.sidecar is not None
    if not principal.authenticated:
        raise FormError("sign in with your token to see the requests you decide", 401)
    mine = []
    deciders: dict[str, Any] = {}
    for found in node.workspace.stewardship.requests(status="pending"):
        try:
            if found.product not in deciders:
                deciders[found.product] = node.sidecar.decider(node.product(*found.product.split("/", 1)))
        except NotFoundError:
            continue  # retired since the request
        if deciders[found.product].decide(principal, "control", found.port).allowed:
            mine.append(
                {
                    **_shown(found),
                    "who": found.principal.id,
                    "product": found.product,
                    "port": found.port,
                    "note": found.note,
                    "requested": _when(found.requested_us),
                }
            )
    page = render(
        request,
        "requests.html",
        status,
        signed_in=True,
        auth=True,
        token=token.strip() if embed else "",
        who=principal.id,
        pending=mine,
        **extra,
    )
    page.headers.update(_PRIVATE)
    return page


def _inbox_error(request: Request, node: Node, exc: HexmeshError) -> HTMLResponse:
    page = render(
        request, "requests.html", exc.http_status, signed_in=False, auth=node.sidecar is not None, error=str(exc)
    )
    page.headers.update(_PRIVATE)
    return page
