"""HTTP ingest: operational systems POST JSON events to a source-aligned product's input port.

``POST /products/{domain}/{name}/ingest/{input}`` takes a JSON array of objects (or one object)
as ``application/json``, or JSON lines as ``application/x-ndjson`` / ``application/jsonl``. The
events are checked against the input port's declared ``properties`` and stored durably in its
landing folder (:func:`hexmesh.serving.ingest.store`) before the 202 answer; the
product's next run reads each stored batch exactly once. The path names the *input* port, the
same way ``/ports/{port}`` names output ports. When the node enforces policies (the default) the
call needs a credential that may control the product, like the control port (an API token of its
owner or of a principal a policy grants ``control``, or an operator token), and is audited.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from hexmesh.server.deps import Domain, Name, NodeDep
from hexmesh.server.problems import problem_response, responses
from hexmesh.serving import ingest as ingest_port
from hexmesh.serving.ingest import MAX_EVENTS

__all__ = ["MAX_BODY_BYTES", "router"]

#: Largest body accepted; split bigger batches (each call is stored as one file).
MAX_BODY_BYTES = 32 * 1024 * 1024
router = APIRouter(prefix="/products/{domain}/{name}/ingest", tags=["ingest"])
_bearer = HTTPBearer(auto_error=False, description="An API token that may control the product, or an operator token.")
Token = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
InputName = Annotated[str, Path(description="An input port reading JSON files, e.g. raw.", max_length=63)]
_ARRAY = ("application/json",)
_LINES = ("application/x-ndjson", "application/jsonl", "application/jsonlines", "application/x-jsonlines")


class Receipt(BaseModel):
    product: str
    input: str
    accepted: int = Field(description="Events stored.")
    file: str = Field(description="The file that holds them, relative to the input's landing folder.")
    received_at: str
    detail: str


class _BadBodyError(Exception):
    def __init__(self, status: int, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.kind, self.detail = status, kind, detail


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _BadBodyError(413, "payload-too-large", _too_large(int(declared)))
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > MAX_BODY_BYTES:
            raise _BadBodyError(413, "payload-too-large", _too_large(len(received)))
    return bytes(received)


def _too_large(size: int) -> str:
    return (
        f"the body has {size:,} bytes or more; send at most {MAX_BODY_BYTES:,} bytes (and {MAX_EVENTS:,} events) "
        "per call, splitting larger batches; nothing was stored"
    )


def _events(media: str, body: bytes) -> list[Any]:
    if not body.strip():
        raise _BadBodyError(400, "empty-body", "the body is empty; send a JSON array of event objects")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _BadBodyError(400, "invalid-json", f"the body is not UTF-8 ({exc}); nothing was stored") from None
    if media in _ARRAY:
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _BadBodyError(400, "invalid-json", f"the body is not valid JSON: {exc}; nothing was stored") from None
        return parsed if isinstance(parsed, list) else [parsed]
    events = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise _BadBodyError(
                    400, "invalid-json", f"line {number} is not valid JSON: {exc}; nothing was stored"
                ) from None
    return events


_EVENT = {"type": "object", "description": "One event: a JSON object, checked against the port's properties."}
_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"oneOf": [{"type": "array", "items": _EVENT, "minItems": 1}, _EVENT]}},
        "application/x-ndjson": {"schema": {"type": "string", "description": "One JSON object per line."}},
    },
}


@router.post(
    "/{port}",
    status_code=202,
    response_model=Receipt,
    responses=responses(400, 401, 403, 404, 409, 413, 415),
    openapi_extra={"requestBody": _BODY},
)
async def ingest(domain: Domain, name: Name, port: InputName, request: Request, node: NodeDep, token: Token) -> Any:
    """Store JSON events for the product's next run (a JSON array, or JSON lines)."""
    # An unknown port (404), one that cannot take events (409) or a sender who may not: before the body.
    key, who = ingest_port.accepting(node, domain, name, port, token.credentials if token else None)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if media not in _ARRAY + _LINES:
            raise _BadBodyError(
                415,
                "unsupported-media-type",
                f"content type {media or 'none'!r} is not accepted; send application/json (an array of objects) "
                "or application/x-ndjson (one object per line)",
            )
        events = _events(media, await _body(request))
    except _BadBodyError as bad:
        return problem_response(request, bad.status, bad.kind, bad.detail)
    receipt = await run_in_threadpool(ingest_port.store, node, key, port, events, who)
    body = Receipt(
        product=receipt.product,
        input=receipt.port,
        accepted=receipt.events,
        file=receipt.name,
        received_at=receipt.received_at.isoformat(),
        detail=f"stored durably; the next run of {key} reads these {receipt.events} event(s) once",
    )
    return JSONResponse(body.model_dump(), status_code=202)
