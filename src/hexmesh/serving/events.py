"""The events port as a node serves it: which stream, from where, and each batch as the caller may see it.

A port's stream carries every row of every published snapshot; a product's stream its SLO
breaches. Callers named by a principal get rows masked by their read plan and breaches of the
ports they may discover; ``None`` (a node served with ``--no-auth``) gets everything, restricted
fields opened as they are served. The HTTP route only frames them (SSE, WebSocket) and acks.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Sequence

from hexmesh.governance import Principal
from hexmesh.infra.events import StoredEvent
from hexmesh.product.eventstream import port_stream, product_stream
from hexmesh.product.sealing import is_sealed, open_events
from hexmesh.product.subscription import follow, start_after
from hexmesh.serving import disclosure, governed
from hexmesh.serving.node import Node

__all__ = [
    "Govern",
    "breach_governor",
    "everything",
    "may_consume",
    "opened_at",
    "port_governor",
    "port_stream_of",
    "product_stream_of",
    "subscribe",
]

#: What a caller may see of a batch of events: ``(seq, text)`` pairs.
Govern = Callable[[Sequence[StoredEvent]], list[tuple[int, str]]]


def everything(events: Sequence[StoredEvent]) -> list[tuple[int, str]]:
    return [(e.seq, e.text) for e in events]


def port_stream_of(node: Node, domain: str, name: str, port: str) -> str:
    """The stream of a port of a served product (404 for an unknown product or port)."""
    reader = node.reader(domain, name, port)
    return port_stream(reader.product.key, reader.spec.name)


def product_stream_of(node: Node, domain: str, name: str) -> str:
    return product_stream(node.product(domain, name).key)


def port_governor(node: Node, caller: Principal | None, domain: str, name: str, port: str, purpose: str) -> Govern:
    """Refuse (403) a caller who may not read the port; else mask each batch as the caller may see it."""
    reader = node.reader(domain, name, port)
    if caller is None:
        if not is_sealed(reader.spec):
            return everything
        # The log keeps restricted fields sealed; they are opened as they are served.
        return lambda events: [(e.seq, e.text) for e in open_events(reader.runtime, reader.spec, events)]
    governed.check_stream(node, caller, reader, purpose)
    return lambda events: governed.filter_events(node, caller, reader, events, purpose)


def breach_governor(node: Node, caller: Principal | None, domain: str, name: str) -> Govern:
    """Refuse a caller who may not discover the product; else keep the breaches of ports it may discover."""
    if caller is None:
        return everything
    product = node.product(domain, name)
    principal = disclosure.require_discovery(node, caller, product)
    return functools.partial(disclosure.filter_breaches, node, principal, product)


def may_consume(node: Node, caller: Principal | None, domain: str, name: str, port: str) -> None:
    """Offsets belong to readers of the port: anyone else is refused (401 anonymous, 403 signed in)."""
    if caller is not None:
        governed.check_stream(node, caller, node.reader(domain, name, port))


async def opened_at(node: Node, stream: str, start: str | None, last_event_id: str | None, consumer: str | None) -> int:
    """The sequence a subscription starts after: ``start``, else ``Last-Event-ID``, else the consumer's offset."""
    return await start_after(
        node.log, node.offsets, stream, start=start, last_event_id=last_event_id, consumer=consumer
    )


def subscribe(
    node: Node, stream: str, after: int, *, limit: int | None = None, keep_open: bool = True
) -> AsyncIterator[list[StoredEvent] | None]:
    """Batches of events after ``after`` (None while idle), woken by the node's emitter."""
    return follow(node.log, stream, after, wait=node.wait_for_news, limit=limit, keep_open=keep_open)
