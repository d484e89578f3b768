"""The web UI's form posts: urlencoded bodies from this node's own pages only.

A form sent from another site is refused whatever it carries. The sign-in cookie is
``SameSite=Strict`` (a browser does not send it with another site's post), and the UI lets it
stand in for the token of a form only when the browser proved the post came from this node's
own page (an ``Origin`` header naming this node): both guards must fail before a cookie could
act for its holder.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import Request

from hexmesh.errors import HexmeshError
from hexmesh.server.deps import SIGN_IN_COOKIE

__all__ = ["FormError", "check_origin", "from_this_node", "read_form", "session_form"]

_MAX_FORM = 16_384


class FormError(HexmeshError):
    """A form the user can fix; ``http_status`` says how the page answers."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.http_status = status


def _this_node(request: Request) -> str:
    return f"{request.url.scheme}://{request.headers.get('host', '')}"


def from_this_node(request: Request) -> bool:
    """Whether the browser said the request comes from one of this node's pages (``Origin``)."""
    origin = request.headers.get("origin")
    return origin is not None and origin != "null" and origin.rstrip("/") == _this_node(request)


def check_origin(request: Request) -> None:
    """Refuse (403) a post whose ``Origin`` is another site."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        mine = _this_node(request)
        if origin.rstrip("/") != mine:
            raise FormError(f"this form was sent from {origin}, not from this node ({mine}); refused", 403)


async def read_form(request: Request) -> dict[str, str]:
    """The urlencoded body (every field once; the last value wins); refuses other sites' posts."""
    check_origin(request)
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind != "application/x-www-form-urlencoded":
        raise FormError(f"send the form as application/x-www-form-urlencoded, not {kind or 'no content type'}", 415)
    body = await request.body()
    if len(body) > _MAX_FORM:
        raise FormError(f"the form is {len(body)} bytes; at most {_MAX_FORM} are accepted (shorten the note)", 413)
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[-1] for name, values in fields.items()}


async def session_form(request: Request) -> dict[str, str]:
    """The form's fields; an empty token is the sign-in cookie's when this node's own page sent it
    (then ``_signed_in`` is set)."""
    form = await read_form(request)
    cookie = request.cookies.get(SIGN_IN_COOKIE, "")
    if not form.get("token", "").strip() and cookie and from_this_node(request):
        form["token"] = cookie
        form["_signed_in"] = "1"
    return form
