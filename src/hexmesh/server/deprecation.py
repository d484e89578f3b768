"""Deprecation and Sunset headers (RFC 9745, RFC 8594) on every response about a deprecated product."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from hexmesh.product.deprecation import deprecated, http_headers
from hexmesh.server.node import Node

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
        key = f"{match.group(1)}/{match.group(2)}"
        product = node.deployed().get(key)
        if product is not None:
            state = deprecated(node.workspace.runtime, key, product.record.major)
            if state is not None:
                response.headers.update(http_headers(state, node.endpoints.base_url))
        return response
