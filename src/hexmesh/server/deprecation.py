"""Deprecation and Sunset headers (RFC 9745, RFC 8594) on every response about a deprecated product."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from hexmesh.infra.state import MajorState
from hexmesh.product.deprecation import http_headers
from hexmesh.serving.node import Node

__all__ = ["install"]

_PRODUCT = re.compile(r"^/products/([a-z][a-z0-9-]*)/([a-z][a-z0-9-]*)(?:/|$)")


def install(app: FastAPI, node: Node) -> None:
    """Add the headers to responses under ``/products/{domain}/{name}``."""

    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        match = _PRODUCT.match(request.url.path)
        if match is None or response.status_code >= 400:
            return response
        state = _deprecated(node, f"{match.group(1)}/{match.group(2)}")
        if state is not None:
            response.headers.update(http_headers(state, node.endpoints.base_url))
        return response


def _deprecated(node: Node, key: str) -> MajorState | None:
    """The state of the major ``key`` serves (its newest not retired) when that is deprecated.

    Two queries about this product only: every response under /products pays for it, so it
    must not grow with the number of products on the node.
    """
    states = node.runtime.state.major_states(key)
    for major in sorted({v.major for v in node.runtime.state.versions(key)}, reverse=True):
        state = states.get(major)
        if state is None or state.status != "retired":
            return state if state is not None and state.status == "deprecated" else None
    return None
