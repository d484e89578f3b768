"""What routes share: the node, the caller, and the path parameters of products and ports."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.responses import JSONResponse

from hexmesh.governance import UNRESTRICTED, Principal
from hexmesh.serving.node import Node

__all__ = [
    "SIGN_IN_COOKIE",
    "Caller",
    "Domain",
    "JsonLd",
    "Name",
    "NodeDep",
    "PortName",
    "bearer_token",
    "etag_matches",
    "get_node",
    "get_principal",
    "principal_of",
    "request_token",
]


def get_node(request: Request) -> Node:
    node = request.app.state.node
    assert isinstance(node, Node)
    return node


NodeDep = Annotated[Node, Depends(get_node)]


def principal_of(node: Node, token: str | None) -> Principal:
    """The caller: a token's principal when the node enforces policies, else the unrestricted principal
    (``--no-auth``), which every policy permits everything, through the same code.

    No token is the anonymous principal; a bad one raises AuthenticationError (401).
    """
    if node.sidecar is None:
        return UNRESTRICTED
    return node.sidecar.authenticate(token)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header."""
    scheme, _, token = (authorization or "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


#: The web UI's sign-in cookie (HttpOnly, SameSite=Strict): an API token, as a bearer header would carry it.
SIGN_IN_COOKIE = "hexmesh_token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def request_token(request: Request) -> str | None:
    """The caller's token: the bearer header, else (for reads only) the web UI's sign-in cookie.

    A cookie never authorizes a change: writes need the header (or, for the UI's forms, the
    token in the form), so a page on another site cannot act with a signed-in user's cookie.
    """
    header = bearer_token(request.headers.get("authorization"))
    if header is not None or request.method not in _SAFE:
        return header
    return request.cookies.get(SIGN_IN_COOKIE) or None


def get_principal(request: Request, node: NodeDep) -> Principal:
    # Read from the headers, not through HTTPBearer: without --auth, these routes need no credentials.
    return principal_of(node, request_token(request))


#: The caller (the unrestricted principal on a node without ``--auth``).
Caller = Annotated[Principal, Depends(get_principal)]
Domain = Annotated[str, Path(description="The owning domain, e.g. podcasts.", max_length=63)]
Name = Annotated[str, Path(description="The product name, e.g. play-events.", max_length=63)]
PortName = Annotated[str, Path(description="An output port name, e.g. plays.", max_length=63)]


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (weak comparison, RFC 9110 13.1.2)."""
    if not if_none_match or not etag:
        return False
    if if_none_match.strip() == "*":
        return True
    return etag.removeprefix("W/") in [t.strip().removeprefix("W/") for t in if_none_match.split(",")]


class JsonLd(JSONResponse):
    media_type = "application/ld+json"
