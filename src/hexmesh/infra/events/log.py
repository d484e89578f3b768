"""What every event log offers: append with deduplication by id, and replay by sequence or time."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

__all__ = ["Event", "EventLog", "StoredEvent"]


@dataclass(frozen=True)
class Event:
    """An event to append; ``id`` is stable, so appending it twice stores it once."""

    id: str
    body: dict[str, Any]


@dataclass(frozen=True)
class StoredEvent:
    """An event in the log: ``seq`` grows with every append to the log (gaps are allowed).

    ``text`` is the event's JSON as stored, so serving it needs no decoding and re-encoding.
    """

    seq: int
    stream: str
    id: str
    appended_us: int
    text: str

    @cached_property
    def body(self) -> dict[str, Any]:
        return dict(json.loads(self.text))


class EventLog(Protocol):
    """An append-only log of streams (one per port, one per product)."""

    async def append(self, stream: str, events: Sequence[Event]) -> int:
        """Append ``events`` in order; return how many were new (duplicates by id are dropped)."""
        ...

    async def read(self, stream: str, after: int, limit: int) -> list[StoredEvent]:
        """Up to ``limit`` events of ``stream`` with a sequence greater than ``after``."""
        ...

    async def seq_before(self, stream: str, appended_us: int) -> int:
        """The sequence to read after to start at the first event appended at or after a time."""
        ...

    async def last_seq(self, stream: str) -> int:
        """The sequence of the stream's newest event (0 when empty)."""
        ...

    async def close(self) -> None: ...
