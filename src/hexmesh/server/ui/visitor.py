"""Who is looking at the web UI: the sign-in cookie (or a bearer header), read once per request.

A cookie whose token was revoked or expired never breaks a page: the visitor is shown what
anyone may see, the page says why, and the response clears the cookie. A bad bearer header is
still an error (401): a script sent it on purpose and should hear that it is wrong.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request, Response

from hexmesh.governance import AuthenticationError, Principal
from hexmesh.server.deps import SIGN_IN_COOKIE, bearer_token, principal_of
from hexmesh.serving.node import Node

__all__ = ["MAX_SESSION_S", "Visitor", "clear_cookie", "safe_next", "set_cookie", "token_life_s", "visitor_of"]

#: A sign-in lasts at most this long (12 h), and never longer than its token.
MAX_SESSION_S = 12 * 3600


@dataclass(frozen=True)
class Visitor:
    """The caller of one request; ``principal`` is the unrestricted one on a node served without ``--auth``."""

    auth: bool
    principal: Principal
    notice: str | None = None
    """Why a sign-in cookie was set aside (revoked or expired token), shown on the page."""
    drop_cookie: bool = False
    by_cookie: bool = False
    """Signed in by the UI's cookie (not by a bearer header)."""

    @property
    def signed_in(self) -> bool:
        return self.principal.authenticated


def visitor_of(request: Request) -> Visitor:
    """The visitor of ``request`` (computed once, kept on ``request.state``)."""
    found = getattr(request.state, "visitor", None)
    if isinstance(found, Visitor):
        return found
    node: Node = request.app.state.node
    auth = node.sidecar is not None
    header = bearer_token(request.headers.get("authorization"))
    cookie = request.cookies.get(SIGN_IN_COOKIE) or None
    if header is not None or not auth:
        visitor = Visitor(auth, principal_of(node, header), drop_cookie=cookie is not None and not auth)
    elif cookie is None:
        visitor = Visitor(auth, principal_of(node, None))
    else:
        try:
            visitor = Visitor(auth, principal_of(node, cookie), by_cookie=True)
        except AuthenticationError as exc:
            visitor = Visitor(
                auth,
                principal_of(node, None),
                notice=f"You were signed out: {exc}. You see what anyone may see; sign in again to see more.",
                drop_cookie=True,
            )
    request.state.visitor = visitor
    return visitor


def token_life_s(node: Node, token: str) -> int:
    """How long the sign-in cookie of ``token`` may live: its remaining life, at most 12 h."""
    expires_us = node.workspace.stewardship.token_expiry_us(token)
    if expires_us is None:
        return MAX_SESSION_S
    return max(0, min(MAX_SESSION_S, int(expires_us / 1e6 - time.time())))


def set_cookie(request: Request, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        max_age=max_age,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def clear_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        SIGN_IN_COOKIE, path="/", secure=request.url.scheme == "https", httponly=True, samesite="strict"
    )


def safe_next(target: str) -> str | None:
    """``target`` when it is a page of this UI (a local path under /ui), else None.

    Anything else could send a user who just signed in to another site (an open redirect):
    absolute URLs, scheme-relative ``//host`` paths, backslashes browsers read as slashes.
    """
    if any(c in target for c in "\\\r\n\t") or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/"):
        return None
    if parts.path not in ("/ui", "/ui/") and not parts.path.startswith("/ui/"):
        return None
    return target
