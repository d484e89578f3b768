"""The mesh as the caller of a request sees it: the app's hub and the caller's visibility, once per request."""

from __future__ import annotations

from fastapi import Request

from hexmesh.server.ui.visitor import visitor_of
from hexmesh.serving import MeshHub, Visibility, visibility

__all__ = ["hub_of", "seen_by"]


def hub_of(request: Request) -> MeshHub:
    """The app's hub (made on first use when the app runs without its lifespan)."""
    hub = getattr(request.app.state, "mesh", None)
    if not isinstance(hub, MeshHub):
        hub = request.app.state.mesh = MeshHub(request.app.state.node)
        hub.federation.refresh_local()
    return hub


def seen_by(request: Request) -> Visibility:
    """The mesh as the caller of ``request`` may see it (computed once per request)."""
    found = getattr(request.state, "visibility", None)
    if isinstance(found, Visibility):
        return found
    seen = visibility(hub_of(request), visitor_of(request).principal)
    request.state.visibility = seen
    return seen
