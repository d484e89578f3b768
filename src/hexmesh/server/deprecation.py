"""Deprecation and Sunset headers (RFC 9745, RFC 8594) on every response about a deprecated product."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

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
        response.headers.update(node.deprecation_headers(f"{match.group(1)}/{match.group(2)}"))
        return response
