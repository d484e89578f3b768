"""Consuming a stream: where to start, and following it in bounded batches.

A subscriber pulls one batch from the log only after the previous one was sent, so a slow
consumer slows its own reads instead of growing the server's memory (backpressure).

Time means what it means on every other port: a ``start`` time is a processing time (when the
rows were published, as ``as_of`` on the files port), not when this node happened to append them
to its log — a node started a week after a run appends that run's rows today. Event time (the
port's ``eventTime``) selects rows with ``since``/``until`` (:class:`EventTimes`), as on the files
and SQL ports.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from hexmesh.errors import ReadError
from hexmesh.infra.events import EventLog, OffsetStore, StoredEvent
from hexmesh.infra.state import now_us, to_us

__all__ = ["EventTimes", "follow", "is_sequence", "sequence_number", "start_after"]

#: Sequence numbers are 64-bit signed integers in every log and offset store.
MAX_SEQUENCE = 2**63 - 1


def is_sequence(text: str) -> bool:
    """Written as a sequence number: ASCII digits only (``"²"`` is a digit to ``str.isdigit``)."""
    return text.isascii() and text.isdigit()


def sequence_number(text: str, what: str) -> int:
    """``text`` as an event sequence number, or a :class:`ReadError` saying why it is not one."""
    if not is_sequence(text):
        raise ReadError(f"{what} {text[:40]!r} is not an event sequence number (digits 0-9)")
    if len(text) > 19 or int(text) > MAX_SEQUENCE:
        raise ReadError(
            f"{what} {text[:40]!r} is beyond the last possible event sequence number ({MAX_SEQUENCE}); "
            "send a sequence number the stream sent you, or start=end"
        )
    return int(text)


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

    ``start`` is ``beginning``, ``end``, an offset (a sequence number) or an ISO 8601 processing time:
    the subscription starts at the first event published at or after it.
    """
    if last_event_id:
        return sequence_number(last_event_id, "Last-Event-ID")
    if start is None:
        stored = offsets.offset(consumer, stream) if consumer else None
        return stored if stored is not None else 0
    if start == "beginning":
        return 0
    if start == "end":
        return await log.last_seq(stream)
    if is_sequence(start):
        return sequence_number(start, "start")
    try:
        moment = datetime.fromisoformat(start)
    except ValueError:
        raise ReadError(
            f"start {start!r} is not understood; use beginning, end, an offset (a number) or "
            "an ISO 8601 time such as 2026-01-01T00:00:00Z"
        ) from None
    if to_us(moment) > now_us():
        raise ReadError(f"start {start!r} is in the future; give a time at or before now")
    return await _before_processing_time(log, stream, to_us(moment))


async def _before_processing_time(log: EventLog, stream: str, moment_us: int) -> int:
    """The sequence to read after to start at the first event whose processing time is at or after ``moment_us``.

    Events are appended in the order they were published, so processing times grow along the log
    and a binary search finds the first one (each probe reads one event). Every event appended
    before ``moment_us`` was also published before it, so the append-time index bounds the search.
    """
    low, high = await log.seq_before(stream, moment_us), await log.last_seq(stream)
    # Invariant: events up to ``low`` were published before the moment; the answer is in [low, high].
    while low < high:
        middle = (low + high) // 2
        probe = await log.read(stream, middle, 1)
        if not probe or probe[0].seq > high:
            high = middle
        elif _processing_us(probe[0]) < moment_us:
            low = probe[0].seq
        else:
            high = middle
    return low


def _processing_us(event: StoredEvent) -> int:
    """When the event's rows were published: its ``processingtime`` (older events: when appended)."""
    stamp = event.body.get("processingtime")
    if isinstance(stamp, str):
        try:
            return to_us(datetime.fromisoformat(stamp))
        except ValueError:
            pass
    return event.appended_us


@dataclass(frozen=True)
class EventTimes:
    """The event-time window ``[since, until)`` of a subscription.

    It is applied to rows as the subscriber sees them (after masking), like ``since``/``until`` on the
    files port: a window over stored values a subscriber may not see would be an oracle for them.
    """

    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        # since == until is the empty window [t, t): nothing, not an error; since after until is one.
        if self.since is not None and self.until is not None and to_us(self.since) > to_us(self.until):
            raise ReadError(
                f"since ({self.since.isoformat()}) must be before until ({self.until.isoformat()}), or equal to "
                "it for an empty window; the window is [since, until)"
            )

    @property
    def everything(self) -> bool:
        return self.since is None and self.until is None

    def contains(self, value: object) -> bool:
        """Whether an event time as served (ISO 8601 text) is in the window; anything else is in none."""
        try:
            at = to_us(datetime.fromisoformat(value)) if isinstance(value, str) else None
        except ValueError:
            at = None
        if at is None:
            return False
        return (self.since is None or at >= to_us(self.since)) and (self.until is None or at < to_us(self.until))

    def keep(self, shown: Sequence[tuple[str, str]], field: str) -> list[tuple[str, str]]:
        """The ``(cursor, text)`` row events whose ``data[field]`` is in the window."""
        kept = []
        for cursor, text in shown:
            data = json.loads(text).get("data")
            if isinstance(data, dict) and self.contains(data.get(field)):
                kept.append((cursor, text))
        return kept


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
