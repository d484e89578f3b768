"""Admission: how many statements the SQL port's engine runs at once; the others wait their turn in a queue.

The sessions share one engine and its ``memory_limit`` (sql/databases.py). Run all at once, 64
aggregates over SF10 exhausted 1 GB and 6 of them failed with "out of memory" where PostgreSQL
answered them all; on 2 cores they finish no sooner together than in turns. So at most
``slots`` statements run; the next ones wait, first come first served, in a queue of at most
``queue``. A waiting statement stops at a cancel or at its statement timeout (57014), as a
running one does; past ``timeout`` seconds of waiting, or when the queue is full, it fails
with 53000 and a message that says so (docs/adr/0039).

A statement holds its slot while the engine works for it: its rows then wait for the client in
the statement's spool (sql/spool.py, ADR 0045), so a slow client holds no slot.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from hexmesh.pgwire import PgError, SqlState

__all__ = ["Admission"]

_POLL = 0.05  # seconds between two looks at the cancel flag while waiting

#: PostgreSQL's class 53, insufficient resources: the statement was not run, running it again may succeed.
_BUSY = "53000"


class Admission:
    """At most ``slots`` statements running (0: no limit), at most ``queue`` waiting for one, each at most
    ``timeout`` seconds (None: until its statement timeout)."""

    def __init__(self, slots: int, queue: int, timeout: float | None) -> None:
        self.slots = slots
        self.queue = queue
        self.timeout = timeout
        self._running = 0
        self._waiting: deque[object] = deque()
        self._turn = threading.Condition()

    def enter(self, cancelled: Callable[[], bool]) -> None:
        """Take a slot, waiting in turn; PgError 57014 when ``cancelled()`` says so meanwhile, 53000 when
        the queue is full or the wait exceeds the timeout. Every successful call is paired with :meth:`leave`."""
        with self._turn:
            if not self.slots or (self._running < self.slots and not self._waiting):
                self._running += 1
                return
            if len(self._waiting) >= self.queue:
                raise PgError(
                    _BUSY,
                    f"the SQL port is busy: {self._running} statements are running and {len(self._waiting)} "
                    "are waiting, which is as many as it queues",
                    hint="Retry in a moment, or run fewer statements at once (a smaller connection pool).",
                )
            ticket = object()
            self._waiting.append(ticket)
            started = time.monotonic()
            try:
                while self._waiting[0] is not ticket or self._running >= self.slots:
                    if cancelled():
                        raise PgError(SqlState.QUERY_CANCELED, "canceling statement due to user request")
                    waited = time.monotonic() - started
                    if self.timeout is not None and waited >= self.timeout:
                        raise PgError(
                            _BUSY,
                            f"the SQL port is busy: the statement waited {self.timeout:g} s for one of the "
                            f"{self.slots} statements the engine runs at once, and did not run",
                            hint="Retry when the port is less busy, or ask its operator to raise sql_admission_timeout "
                            "or sql_running_statements.",
                        )
                    left = _POLL if self.timeout is None else min(_POLL, self.timeout - waited)
                    self._turn.wait(max(left, 0.0))
                self._running += 1
            finally:
                self._waiting.remove(ticket)
                self._turn.notify_all()  # the next in line may now be at the head

    def leave(self) -> None:
        """A statement that entered ended (the engine produced its last row, failed or was stopped)."""
        with self._turn:
            self._running -= 1
            self._turn.notify_all()

    @property
    def running(self) -> int:
        with self._turn:
            return self._running

    @property
    def waiting(self) -> int:
        with self._turn:
            return len(self._waiting)
