"""Request bodies have a size limit on every route: a client cannot make the node buffer gigabytes.

Most routes take small JSON or YAML documents (a policy, a rule set, an access request), so they
accept at most :data:`MAX_BODY_BYTES`; ingest takes batches of events and has its own, larger
limit. A declared ``Content-Length`` over the limit is refused before anything is read; a chunked
body is counted as it arrives and refused once it passes the limit. Either way the answer is a 413
problem document naming the limit. (Starlette's own body limit answers a declared size with plain
text in place of the problem document, so the node keeps this one.)
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hexmesh.server.problems import problem_response

__all__ = ["MAX_BODY_BYTES", "BodyLimit"]

#: What any route but ingest accepts: 1 MiB is far beyond the largest policy or rule set.
MAX_BODY_BYTES = 1024 * 1024


class BodyLimit:
    """ASGI middleware: ``limits`` maps a path pattern to its own limit; others get ``default``."""

    def __init__(self, app: ASGIApp, default: int = MAX_BODY_BYTES, limits: dict[str, int] | None = None) -> None:
        self.app = app
        self.default = default
        self.limits = [(re.compile(pattern), limit) for pattern, limit in (limits or {}).items()]

    def limit(self, path: str) -> int:
        return next((limit for pattern, limit in self.limits if pattern.search(path)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope["path"])
        declared = _content_length(scope)
        if declared == -1:
            detail = "Content-Length is not a whole number of bytes; send the body's size in bytes"
            await problem_response(Request(scope), 400, "bad-content-length", detail)(scope, receive, send)
            return
        if declared is not None and declared > limit:
            await problem_response(Request(scope), 413, "payload-too-large", too_large(limit))(scope, receive, send)
            return
        await self.app(scope, _counting(receive, limit), send)


def _counting(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:  # raised inside the route: the problem handlers answer 413
                raise HTTPException(413, too_large(limit))
        return message

    return counted


def _content_length(scope: Scope) -> int | None:
    """The declared size; ``None`` when not declared, ``-1`` when it is not a number."""
    headers: Any = scope.get("headers", [])
    for name, value in headers:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else -1
    return None


def too_large(limit: int) -> str:
    return (
        f"the request body is larger than the {limit:,} bytes this route accepts; send a smaller document "
        "(or, for ingest, split the events into several calls). Nothing was done"
    )
