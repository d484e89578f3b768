"""Bounded caches: least recently used entries leave first, by count or by weight, in memory
(:class:`BoundedCache`) or as files in a folder (:func:`evict_files`).

Every in-process memory of hexmesh (discovery documents, read plans, unwrapped keys,
pseudonyms, snapshot summaries…) is a :class:`BoundedCache`, so none of them grows without
bound and none forgets everything at once when it fills up. It is thread-safe; the batch
methods take the lock once for many keys, for callers that look up thousands of values per
read (pseudonyms per distinct value).

This module imports nothing from hexmesh: every plane may use it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping
from pathlib import Path
from typing import Generic, TypeVar

__all__ = ["KEEP_RECENT_S", "BoundedCache", "evict_files"]

#: Files used this recently stay whatever the limit: a reader may be opening them.
KEEP_RECENT_S = 60.0

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """A thread-safe LRU mapping holding at most ``limit`` units.

    A unit is one entry, or what ``weigh(value)`` says (e.g. bytes). An entry heavier than
    ``limit`` is not kept at all.
    """

    def __init__(self, limit: int, *, weigh: Callable[[V], int] | None = None) -> None:
        if limit < 1:
            raise ValueError(f"a cache holds at least one unit, not {limit}")
        self.limit = limit
        self._weigh = weigh
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    @property
    def weight(self) -> int:
        """Units held: the number of entries, or the sum of their weights."""
        return self._weight

    def get(self, key: K) -> V | None:
        """The value of ``key`` (now the most recently used), or None."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def put(self, key: K, value: V) -> V:
        """Keep ``value`` under ``key``, dropping the least recently used entries beyond the limit."""
        with self._lock:
            self._put(key, value)
        return value

    def get_or_put(self, key: K, make: Callable[[], V]) -> V:
        """The value of ``key``; made by ``make()`` (outside the lock) and kept when missing."""
        found = self.get(key)
        return found if found is not None else self.put(key, make())

    def get_many(self, keys: Iterable[K]) -> dict[K, V]:
        """The values of those ``keys`` that are kept (one lock for all of them)."""
        found: dict[K, V] = {}
        with self._lock:
            for key in keys:
                entry = self._entries.get(key)
                if entry is not None:
                    self._entries.move_to_end(key)
                    found[key] = entry[0]
        return found

    def put_many(self, items: Mapping[K, V]) -> None:
        """Keep every item (one lock for all of them)."""
        with self._lock:
            if self._weigh is not None:
                for key, value in items.items():
                    self._put(key, value)
                return
            # Counted by entries: one bulk update, then the oldest leave (a run may bring a million keys).
            entries = self._entries
            for key in [k for k in items if k in entries]:
                del entries[key]
            entries.update((key, (value, 1)) for key, value in items.items())
            while len(entries) > self.limit:
                entries.popitem(last=False)
            self._weight = len(entries)

    def pop(self, key: K) -> V | None:
        with self._lock:
            found = self._entries.pop(key, None)
            if found is None:
                return None
            self._weight -= found[1]
            return found[0]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._weight = 0

    def _put(self, key: K, value: V) -> None:
        weight = 1 if self._weigh is None else self._weigh(value)
        old = self._entries.pop(key, None)
        if old is not None:
            self._weight -= old[1]
        if weight > self.limit:
            return  # it would push out everything else and still not fit
        self._entries[key] = (value, weight)
        self._weight += weight
        while self._weight > self.limit:
            _, (_, dropped) = self._entries.popitem(last=False)
            self._weight -= dropped


def evict_files(folder: Path, limit: int, *, keep: Collection[Path] = (), pattern: str = "*.parquet") -> list[Path]:
    """Delete the least recently used files (by modification time) until they take at most ``limit`` bytes.

    ``keep`` and files used within :data:`KEEP_RECENT_S` stay, so the folder can exceed ``limit``
    briefly under heavy use. Returns what was deleted.
    """
    entries = []
    for path in folder.glob(pattern):
        try:
            info = path.stat()
        except FileNotFoundError:  # another reader evicted it meanwhile
            continue
        entries.append((info.st_mtime, info.st_size, path))
    total = sum(size for _, size, _ in entries)
    recent = time.time() - KEEP_RECENT_S
    deleted = []
    for used, size, path in sorted(entries):
        if total <= limit:
            break
        if path in keep or used > recent:
            continue
        path.unlink(missing_ok=True)
        total -= size
        deleted.append(path)
    return deleted
