"""Signing in to the web UI with an API token, and out again.

The token is checked by the node's policy sidecar, then kept in an ``HttpOnly``,
``SameSite=Strict`` cookie (``Secure`` over https) that lives no longer than the token. Pages
read it like a bearer header; forms use it only when posted from this node's own pages (see
:mod:`hexmesh.server.ui.forms`). After signing in, the browser goes back to ``next``, which
must be a page of this UI: never another site.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hexmesh.errors import HexmeshError
from hexmesh.server.ui.forms import FormError, check_origin, read_form
from hexmesh.server.ui.pages import render
from hexmesh.server.ui.visitor import clear_cookie, safe_next, set_cookie, token_life_s

__all__ = ["router"]

router = APIRouter(prefix="/ui", include_in_schema=False)
_HOME = "/ui"
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin"}


def _refused(target: str) -> str | None:
    """Why ``target`` is not followed after signing in (None when it is a page of this UI)."""
    if not target or safe_next(target) is not None:
        return None
    return f"{target!r} is not a page of this web UI: only paths starting with /ui are followed after signing in"


def _page(request: Request, status: int = 200, **context: object) -> HTMLResponse:
    page = render(request, "sign-in.html", status, **context)
    page.headers.update(_PRIVATE)
    return page


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(
    request: Request,
    next: Annotated[str, Query(max_length=2000)] = "",
    out: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    refused = _refused(next)
    warning = f"{refused}; you will go to the home page." if refused else None
    return _page(request, next=_HOME if refused or not next else next, warning=warning, signed_out=out)


@router.post("/sign-in", response_class=HTMLResponse, response_model=None)
async def sign_in(request: Request) -> Response:
    node = request.app.state.node
    target = _HOME
    try:
        form = await read_form(request)
        refused = _refused(form.get("next", ""))
        if refused:
            raise FormError(f"you were not signed in: {refused}. Sign in again from this page", 400)
        target = form.get("next") or _HOME
        if node.sidecar is None:
            raise FormError("this node serves with --no-auth: there is nothing to sign in to", 409)
        token = form.get("token", "").strip()
        if not token:
            raise FormError("paste your API token (hxm_…) into the token field", 401)
        node.sidecar.authenticate(token)  # AuthenticationError (401) says what is wrong
        life = token_life_s(node, token)
    except HexmeshError as exc:
        return _page(request, exc.http_status, next=target, error=str(exc))
    done = RedirectResponse(target, status_code=303)
    set_cookie(request, done, token, life)
    done.headers.update(_PRIVATE)
    return done


@router.post("/sign-out", response_class=HTMLResponse, response_model=None)
async def sign_out(request: Request) -> Response:
    try:
        check_origin(request)  # the form has no fields: any body will do
    except HexmeshError as exc:
        return _page(request, exc.http_status, next=_HOME, error=str(exc))
    done = RedirectResponse("/ui/sign-in?out=true", status_code=303)
    clear_cookie(request, done)
    done.headers.update(_PRIVATE)
    return done
