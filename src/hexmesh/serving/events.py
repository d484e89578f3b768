"""The events port as a node serves it: which stream, from where, and each batch as the caller may see it.

A port's stream carries every row of every published snapshot; a product's stream its SLO
breaches. Every caller gets rows masked by its read plan (restricted fields opened only where the
plan shows them in clear) and breaches of the ports it may discover; on a node served with
``--no-auth`` every caller is the unrestricted principal, whose plan shows everything. The HTTP
route only frames them (SSE, WebSocket) and acks.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from hexmesh.errors import ReadError
from hexmesh.governance import Principal
from hexmesh.infra.events import StoredEvent
from hexmesh.product.eventstream import product_stream, reader_stream
from hexmesh.product.policy.stream import Cursors
from hexmesh.product.ports import OutputPortReader
from hexmesh.product.subscription import EventTimes, follow, start_after
from hexmesh.serving import disclosure, governed
from hexmesh.serving.node import Node

__all__ = [
    "Cursors",
    "EventTimes",
    "Govern",
    "PortView",
    "breach_governor",
    "event_time",
    "everything",
    "may_consume",
    "opened_at",
    "port_cursors",
    "port_stream_of",
    "port_view",
    "product_stream_of",
    "subscribe",
]

#: What a caller may see of a batch of events: ``(cursor, text)`` pairs (the cursor is the ``seq`` in
#: plain numbers, or an opaque ``t_…`` for callers who may not learn the log's positions).
Govern = Callable[[Sequence[StoredEvent]], list[tuple[str, str]]]


@dataclass(frozen=True)
class PortView:
    """A subscription to a port's stream as one caller gets it: what it sees, how its positions read."""

    govern: Govern
    cursors: Cursors


def everything(events: Sequence[StoredEvent]) -> list[tuple[str, str]]:
    return [(str(e.seq), e.text) for e in events]


def port_stream_of(node: Node, domain: str, name: str, port: str) -> str:
    """The stream of a port of a served product (404 for an unknown product or port)."""
    reader = node.reader(domain, name, port)
    return reader_stream(reader)


def product_stream_of(node: Node, domain: str, name: str) -> str:
    return product_stream(node.product(domain, name).key)


def port_view(
    node: Node,
    caller: Principal,
    domain: str,
    name: str,
    port: str,
    purpose: str,
    times: EventTimes | None = None,
) -> PortView:
    """Refuse (403) a caller who may not read the port; else mask each batch as the caller may see it.

    ``times`` keeps the rows whose event time is in ``[since, until)`` (refused on a port with no eventTime).
    """
    reader = node.reader(domain, name, port)
    window = times or EventTimes()
    if not window.everything and reader.spec.event_time is None:
        raise ReadError(
            f"port {reader.address} declares no eventTime, so since/until cannot apply; "
            "start at a processing time with start= instead"
        )
    view = _view(node, caller, reader, purpose)
    field = reader.spec.event_time
    if window.everything or field is None:
        return view
    return PortView(lambda events: window.keep(view.govern(events), field), view.cursors)


def _view(node: Node, caller: Principal, reader: OutputPortReader, purpose: str) -> PortView:
    governed.check_stream(node, caller, reader, purpose)
    cursors = governed.stream_cursors(node, caller, reader, reader_stream(reader), purpose)
    return PortView(
        functools.partial(governed.filter_events, node, caller, reader, purpose=purpose, cursors=cursors), cursors
    )


def port_cursors(node: Node, caller: Principal, domain: str, name: str, port: str) -> Cursors:
    """How the caller's positions on a port's stream are written (offsets, acks); refused like a read."""
    may_consume(node, caller, domain, name, port)
    reader = node.reader(domain, name, port)
    return governed.stream_cursors(node, caller, reader, reader_stream(reader))


def breach_governor(node: Node, caller: Principal, domain: str, name: str) -> Govern:
    """Refuse a caller who may not discover the product; else keep the breaches of ports it may discover."""
    product = node.product(domain, name)
    principal = disclosure.require_discovery(node, caller, product)
    return functools.partial(disclosure.filter_breaches, node, principal, product)


def event_time(name: str, text: str | None) -> datetime | None:
    """A ``since``/``until`` query parameter as a time (the WebSocket route parses its own)."""
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ReadError(f"{name} {text!r} is not an ISO 8601 time such as 2026-01-01T00:00:00Z") from None


def may_consume(node: Node, caller: Principal, domain: str, name: str, port: str) -> None:
    """Offsets belong to readers of the port: anyone else is refused (401 anonymous, 403 signed in)."""
    governed.check_stream(node, caller, node.reader(domain, name, port))


async def opened_at(
    node: Node,
    stream: str,
    start: str | None,
    last_event_id: str | None,
    consumer: str | None,
    cursors: Cursors | None = None,
) -> int:
    """The sequence a subscription starts after: ``Last-Event-ID``, else ``start``, else the consumer's offset.

    A caller with opaque cursors resumes with the cursors it was sent (a plain number is refused).
    """
    if cursors is not None and cursors.opaque:
        if last_event_id:
            last_event_id = str(cursors.read(last_event_id))
        if start is not None and start.startswith("t_"):
            start = str(cursors.read(start, "start"))
        elif start is not None and start.isascii() and start.isdigit():
            raise ReadError(f"start {start!r}: send an event id this stream sent you, beginning, end or a time")
    return await start_after(
        node.log, node.offsets, stream, start=start, last_event_id=last_event_id, consumer=consumer
    )


def subscribe(
    node: Node, stream: str, after: int, *, limit: int | None = None, keep_open: bool = True
) -> AsyncIterator[list[StoredEvent] | None]:
    """Batches of events after ``after`` (None while idle), woken by the node's emitter."""
    return follow(node.log, stream, after, wait=node.wait_for_news, limit=limit, keep_open=keep_open)
