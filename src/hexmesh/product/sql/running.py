"""How many statements each principal runs at once on the SQL port, over all of its sessions.

One principal with many connections (a dashboard refreshing 30 tiles, a script opening a pool)
must not take every worker and the whole engine: beyond ``limit`` running statements, the next
one waits for a turn. It waits within its statement timeout and stops at a cancel, like any
running statement (57014).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Hashable

from hexmesh.pgwire import PgError, SqlState

__all__ = ["RunningStatements"]

_POLL = 0.05  # seconds between two looks at the cancel flag while waiting


class RunningStatements:
    """Counts running statements per principal; ``limit`` 0 counts without limiting."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._running: Counter[Hashable] = Counter()
        self._turn = threading.Condition()

    def start(self, who: Hashable, cancelled: Callable[[], bool]) -> None:
        """Wait for a turn of ``who``; PgError 57014 when ``cancelled()`` says so meanwhile."""
        with self._turn:
            while self.limit and self._running[who] >= self.limit:
                if cancelled():
                    raise PgError(SqlState.QUERY_CANCELED, "canceling statement due to user request")
                self._turn.wait(_POLL)
            self._running[who] += 1

    def end(self, who: Hashable) -> None:
        """A statement of ``who`` ended (its result was sent, failed or was dropped)."""
        with self._turn:
            self._running[who] -= 1
            if self._running[who] <= 0:
                del self._running[who]
            self._turn.notify_all()

    def running(self, who: Hashable) -> int:
        with self._turn:
            return self._running[who]
