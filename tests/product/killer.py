"""Kill a source read in the middle, the way a database restart or an operator would."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg


@contextmanager
def terminating(database: str, query_like: str, *, within: float = 120) -> Iterator[threading.Event]:
    """While the block runs, terminate hexmesh's backend once it runs a query like ``query_like``.

    The event is set when a backend was terminated; the search gives up after ``within`` seconds.
    """
    killed = threading.Event()

    def kill_the_read() -> None:
        with psycopg.connect(database, autocommit=True) as conn:
            deadline = time.monotonic() + within
            while time.monotonic() < deadline and not killed.is_set():
                found = conn.execute(
                    "select pg_terminate_backend(pid) from pg_stat_activity "
                    "where application_name = 'hexmesh:registrations' and state = 'active' and query ilike %s",
                    (query_like,),
                ).fetchall()
                if found:
                    killed.set()
                time.sleep(0.05)

    killer = threading.Thread(target=kill_the_read)
    killer.start()
    try:
        yield killed
    finally:
        killer.join()
