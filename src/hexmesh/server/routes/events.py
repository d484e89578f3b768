"""The events port: a port's (or a product's) log over Server-Sent Events and WebSocket."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Header, Query, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from hexmesh.errors import HexmeshError
from hexmesh.server.deps import Caller, Domain, Name, NodeDep, PortName, bearer_token, principal_of
from hexmesh.server.problems import responses
from hexmesh.serving import events as events_port
from hexmesh.serving import governed
from hexmesh.serving.events import Cursors, EventTimes, Govern, everything
from hexmesh.serving.node import Node

router = APIRouter(tags=["events"])

Start = Annotated[
    str | None,
    Query(
        description="beginning, end, an offset (sequence number) or an ISO 8601 processing time (start at the "
        "first row published at or after it, as as_of on the files port); default: the consumer's stored "
        "offset, else the beginning.",
        min_length=1,
        max_length=200,
    ),
]
Since = Annotated[datetime | None, Query(description="Event time from (inclusive): only rows at or after it.")]
Until = Annotated[datetime | None, Query(description="Event time until (exclusive): only rows before it.")]
Consumer = Annotated[
    str | None,
    Query(
        description="A consumer name: its offset is stored on the node and survives restarts.",
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
    ),
]
Limit = Annotated[
    int | None,
    Query(ge=1, description="Stop after sending this many events (ones a window or policy leaves out do not count)."),
]
Follow = Annotated[bool, Query(description="Keep the stream open for new events (default).")]
Ack = Annotated[
    Literal["auto", "manual"],
    Query(description="auto: a consumer's offset moves as events are sent; manual: only when acked."),
]
_SSE = {
    200: {"description": "CloudEvents as Server-Sent Events", "content": {"text/event-stream": {}}},
    **responses(400, 401, 403, 404),
}
LastEventId = Annotated[
    str | None,
    Header(
        description="Resume after this event: the id of the last event received (its sequence number, or the "
        "opaque id the stream sent).",
        pattern=r"^([0-9]{1,19}|t_[A-Za-z0-9_=-]{1,200})$",
    ),
]
Purpose = Annotated[str, Query(description="Why you read (nodes that enforce policies check it against them).")]


class Offset(BaseModel):
    consumer: str
    stream: str
    offset: int | str | None = Field(
        description="The last event processed: its sequence number, or (for callers who do not control the "
        "product) the opaque id the stream sent with it."
    )


async def _sse(
    node: Node,
    stream: str,
    after: int,
    consumer: str | None,
    ack: str,
    limit: int | None,
    keep_open: bool,
    govern: Govern = everything,
    cursors: Cursors | None = None,
) -> AsyncIterator[bytes]:
    """``limit`` counts events sent: those an event-time window or a row filter leaves out do not count."""
    node.open_streams += 1
    sent = 0
    try:
        yield b"retry: 1000\n\n"
        async for events in events_port.subscribe(node, stream, after, keep_open=keep_open):
            if events is None:
                yield b": idle\n\n"
                continue
            shown = await anyio.to_thread.run_sync(govern, events) if govern is not everything else govern(events)
            last = events[-1].seq
            if limit is not None and len(shown) >= limit - sent:
                shown = shown[: limit - sent]
                last = (cursors or Cursors()).read(shown[-1][0]) if shown else after
            yield "".join(f"id: {cursor}\ndata: {text}\n\n" for cursor, text in shown).encode()
            sent += len(shown)
            # The batch was handed to the socket: at least once, the offset may now move.
            if consumer and ack == "auto":
                node.offsets.commit(consumer, stream, last)
            if limit is not None and sent >= limit:
                return
    finally:
        node.open_streams -= 1


@router.get(
    "/products/{domain}/{name}/ports/{port}/events",
    responses=_SSE,
    response_class=StreamingResponse,
)
async def port_events(
    domain: Domain,
    name: Name,
    port: PortName,
    node: NodeDep,
    caller: Caller,
    start: Start = None,
    consumer: Consumer = None,
    limit: Limit = None,
    follow: Follow = True,
    ack: Ack = "auto",
    purpose: Purpose = "",
    since: Since = None,
    until: Until = None,
    last_event_id: LastEventId = None,
) -> StreamingResponse:
    """Every row of every published snapshot, as CloudEvents 1.0; resume with Last-Event-ID."""
    stream = await anyio.to_thread.run_sync(events_port.port_stream_of, node, domain, name, port)
    times = EventTimes(since, until)
    view = await anyio.to_thread.run_sync(events_port.port_view, node, caller, domain, name, port, purpose, times)
    consumer = governed.consumer_name(caller, consumer)
    after = await events_port.opened_at(node, stream, start, last_event_id, consumer, view.cursors)
    body = _sse(node, stream, after, consumer, ack, limit, follow, view.govern, view.cursors)
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/products/{domain}/{name}/events", responses=_SSE, response_class=StreamingResponse)
async def product_events(
    domain: Domain,
    name: Name,
    node: NodeDep,
    caller: Caller,
    start: Start = None,
    consumer: Consumer = None,
    limit: Limit = None,
    follow: Follow = True,
    ack: Ack = "auto",
    last_event_id: LastEventId = None,
) -> StreamingResponse:
    """The product's own events: SLO breaches (with policies enforced: of the ports the caller may discover)."""
    stream = await anyio.to_thread.run_sync(events_port.product_stream_of, node, domain, name)
    govern = await anyio.to_thread.run_sync(events_port.breach_governor, node, caller, domain, name)
    consumer = governed.consumer_name(caller, consumer)
    after = await events_port.opened_at(node, stream, start, last_event_id, consumer)
    body = _sse(node, stream, after, consumer, ack, limit, follow, govern)
    return StreamingResponse(body, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@router.get("/products/{domain}/{name}/ports/{port}/events/consumers/{consumer}", responses=responses(404))
def get_offset(domain: Domain, name: Name, port: PortName, consumer: str, node: NodeDep, caller: Caller) -> Offset:
    """A consumer's stored offset (the last event it processed); with policies enforced, the caller's own."""
    stream = events_port.port_stream_of(node, domain, name, port)
    cursors = events_port.port_cursors(node, caller, domain, name, port)
    stored = node.offsets.offset(governed.consumer_name(caller, consumer) or consumer, stream)
    shown = None if stored is None else stored if not cursors.opaque else cursors.show(stored)
    return Offset(consumer=consumer, stream=stream, offset=shown)


@router.put(
    "/products/{domain}/{name}/ports/{port}/events/consumers/{consumer}",
    responses=responses(400, 404),
)
def put_offset(
    domain: Domain,
    name: Name,
    port: PortName,
    consumer: str,
    node: NodeDep,
    caller: Caller,
    offset: Annotated[
        str,
        Query(
            max_length=200,
            pattern=r"^([0-9]{1,19}|t_[A-Za-z0-9_=-]{1,200})$",
            description="The last event processed: a sequence number, or the opaque id the stream sent with it.",
        ),
    ],
) -> Offset:
    """Store a consumer's offset (an explicit ack, or a rewind); with policies enforced, the caller's own."""
    stream = events_port.port_stream_of(node, domain, name, port)
    cursors = events_port.port_cursors(node, caller, domain, name, port)
    node.offsets.reset(governed.consumer_name(caller, consumer) or consumer, stream, cursors.read(offset, "offset"))
    return Offset(consumer=consumer, stream=stream, offset=offset if cursors.opaque else int(offset))


@router.websocket("/products/{domain}/{name}/ports/{port}/events/ws")
async def port_events_ws(
    websocket: WebSocket,
    domain: str,
    name: str,
    port: str,
    start: str | None = None,
    consumer: str | None = None,
    limit: int | None = None,
    ack: str = "auto",
    purpose: str = "",
    since: str | None = None,
    until: str | None = None,
) -> None:
    """Messages are ``{"seq": n, "event": {...}}``; send ``{"ack": n}`` to store an offset (``n`` is opaque
    text for callers who do not control the product: send back what you were sent)."""
    node: Node = websocket.app.state.node
    await websocket.accept()
    try:
        caller = principal_of(node, bearer_token(websocket.headers.get("authorization")))
        stream = await anyio.to_thread.run_sync(events_port.port_stream_of, node, domain, name, port)
        times = EventTimes(events_port.event_time("since", since), events_port.event_time("until", until))
        view = await anyio.to_thread.run_sync(events_port.port_view, node, caller, domain, name, port, purpose, times)
        consumer = governed.consumer_name(caller, consumer)
        after = await events_port.opened_at(node, stream, start, None, consumer, view.cursors)
    except HexmeshError as exc:
        await websocket.send_json({"error": str(exc), "status": exc.http_status})
        await websocket.close(code=1008)
        return
    node.open_streams += 1
    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_acks, websocket, node, stream, consumer, view.cursors, tasks.cancel_scope)
            sent = 0  # limit counts messages sent, as on SSE
            async for events in events_port.subscribe(node, stream, after):
                shown = await anyio.to_thread.run_sync(view.govern, events) if events else []
                last = events[-1].seq if events else after
                if limit is not None and shown and len(shown) >= limit - sent:
                    shown = shown[: limit - sent]
                    last = view.cursors.read(shown[-1][0])
                for cursor, text in shown:
                    seq = json.dumps(cursor) if view.cursors.opaque else cursor
                    await websocket.send_text(f'{{"seq":{seq},"event":{text}}}')
                sent += len(shown)
                if events and consumer and ack == "auto":
                    node.offsets.commit(consumer, stream, last)
                if limit is not None and sent >= limit:
                    break
            tasks.cancel_scope.cancel()
        await websocket.close()
    except* (WebSocketDisconnect, OSError):
        pass  # the client left; nothing is kept for it but its stored offset
    finally:
        node.open_streams -= 1


async def _acks(
    websocket: WebSocket, node: Node, stream: str, consumer: str | None, cursors: Cursors, scope: anyio.CancelScope
) -> None:
    while True:
        try:
            message: Any = await websocket.receive_json()
        except (WebSocketDisconnect, ValueError):
            scope.cancel()  # stop sending: the client is gone (or speaks something else)
            return
        acked = message.get("ack") if isinstance(message, dict) else None
        if consumer and isinstance(acked, int | str):
            try:
                node.offsets.commit(consumer, stream, cursors.read(str(acked), "ack"))
            except HexmeshError as exc:
                await websocket.send_json({"error": str(exc), "status": exc.http_status})
