"""Budget: bytes a session may hold for its clients, within what the whole port may hold."""

from __future__ import annotations

import threading

__all__ = ["Budget"]


class Budget:
    """At most ``limit`` bytes taken at once (0: nothing may be taken), and at most what ``parent`` has left.

    A session's budget has the port's as its parent: a take succeeds only if both have room, so
    one session cannot use the whole port's share and all sessions together stay within it.
    """

    def __init__(self, limit: int, parent: Budget | None = None) -> None:
        self.limit = limit
        self.parent = parent
        self._taken = 0
        self._lock = threading.Lock()

    def take(self, n: int) -> bool:
        """Take ``n`` bytes if this budget and its parents have room; False (nothing taken) if not."""
        with self._lock:
            if self._taken + n > self.limit:
                return False
            if self.parent is not None and not self.parent.take(n):
                return False
            self._taken += n
            return True

    def force(self, n: int) -> bool:
        """Take ``n`` bytes even past the limits (what must be held anyway, counted so that others stay within)."""
        with self._lock:
            self._taken += n
        if self.parent is not None:
            self.parent.force(n)
        return True

    def give(self, n: int) -> None:
        """Give back ``n`` bytes taken earlier."""
        with self._lock:
            self._taken -= n
        if self.parent is not None:
            self.parent.give(n)

    @property
    def taken(self) -> int:
        with self._lock:
            return self._taken
