"""Consuming a stream: where to start, and following it in bounded batches.

A subscriber pulls one batch from the log only after the previous one was sent, so a slow
consumer slows its own reads instead of growing the server's memory (backpressure).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime

from hexmesh.errors import ReadError
from hexmesh.infra.events import EventLog, OffsetStore, StoredEvent
from hexmesh.infra.state import now_us, to_us

__all__ = ["follow", "start_after"]

Wait = Callable[[float], Awaitable[None]]


async def start_after(
    log: EventLog,
    offsets: OffsetStore,
    stream: str,
    *,
    start: str | None,
    last_event_id: str | None = None,
    consumer: str | None = None,
) -> int:
    """The sequence to read after: Last-Event-ID, else ``start``, else the stored offset, else 0.

    ``start`` is ``beginning``, ``end``, an offset (a sequence number) or an ISO 8601 time.
    """
    if last_event_id:
        if not last_event_id.isdigit():
            raise ReadError(f"Last-Event-ID {last_event_id!r} is not an event sequence number")
        return int(last_event_id)
    if start is None:
        stored = offsets.offset(consumer, stream) if consumer else None
        return stored if stored is not None else 0
    if start == "beginning":
        return 0
    if start == "end":
        return await log.last_seq(stream)
    if start.isdigit():
        return int(start)
    try:
        moment = datetime.fromisoformat(start)
    except ValueError:
        raise ReadError(
            f"start {start!r} is not understood; use beginning, end, an offset (a number) or "
            "an ISO 8601 time such as 2026-01-01T00:00:00Z"
        ) from None
    if to_us(moment) > now_us():
        raise ReadError(f"start {start!r} is in the future; give a time at or before now")
    return await log.seq_before(stream, to_us(moment))


async def follow(
    log: EventLog,
    stream: str,
    after: int,
    *,
    wait: Wait,
    batch: int = 500,
    limit: int | None = None,
    keep_open: bool = True,
    idle: float = 1.0,
) -> AsyncIterator[list[StoredEvent] | None]:
    """Yield batches of events after ``after``; ``None`` when idle (a heartbeat), forever if ``keep_open``."""
    sent = 0
    while limit is None or sent < limit:
        size = batch if limit is None else min(batch, limit - sent)
        events = await log.read(stream, after, size)
        if events:
            after = events[-1].seq
            sent += len(events)
            yield events
            continue
        if not keep_open:
            return
        yield None
        with contextlib.suppress(TimeoutError):
            await wait(idle)
