"""Deprecation and Sunset headers (RFC 9745, RFC 8594) on every response about a deprecated product.

``/products/d/p/…`` is about the newest live major, ``/products/d/p@N/…`` about major N.
"""

from __future__ import annotations

import re

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hexmesh.serving.node import Node

__all__ = ["install"]

_PRODUCT = re.compile(r"^/products/([a-z][a-z0-9-]*)/([a-z][a-z0-9-]*(?:@[0-9]+)?)(?:/|$)")


class _Headers:
    """Pure ASGI (not ``@app.middleware``): errors raised while a route reads its body, such as the
    413 of the body limit, reach the problem handlers as they are, not wrapped in an ExceptionGroup."""

    def __init__(self, app: ASGIApp, node: Node) -> None:
        self.app, self.node = app, node

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _PRODUCT.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        domain, name = match.group(1), match.group(2)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                MutableHeaders(scope=message).update(self.node.deprecation_headers(domain, name))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI, node: Node) -> None:
    """Add the headers to responses under ``/products/{domain}/{name}``."""
    app.add_middleware(_Headers, node=node)
