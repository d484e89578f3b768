"""The embedded event log: one SQLite file in the workspace, no server to run.

The primary key is the global sequence; ``(stream, event_id)`` is unique, so re-emitting a
snapshot after a crash stores nothing twice.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from hexmesh.infra.events._sqlite import connect
from hexmesh.infra.events.log import Event, StoredEvent

__all__ = ["EmbeddedLog"]

_SCHEMA = """
create table if not exists events (
    seq integer primary key autoincrement,
    stream text not null,
    event_id text not null,
    appended_us integer not null,
    body text not null,
    unique (stream, event_id)
);
create index if not exists events_stream_seq on events (stream, seq);
create index if not exists events_stream_time on events (stream, appended_us);
"""


class EmbeddedLog:
    """Event log in ``<home>/events.db``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection = connect(path, _SCHEMA)
        self._lock = threading.Lock()

    async def append(self, stream: str, events: Sequence[Event]) -> int:
        return await asyncio.to_thread(self._append, stream, events)

    def _append(self, stream: str, events: Sequence[Event]) -> int:
        now = time.time_ns() // 1000
        rows = [(stream, e.id, now, json.dumps(e.body, separators=(",", ":"))) for e in events]
        with self._lock:
            before = self._conn.total_changes
            self._conn.execute("begin immediate")
            try:
                self._conn.executemany(
                    "insert or ignore into events (stream, event_id, appended_us, body) values (?, ?, ?, ?)",
                    rows,
                )
                self._conn.execute("commit")
            except BaseException:
                self._conn.execute("rollback")
                raise
            return self._conn.total_changes - before

    async def read(self, stream: str, after: int, limit: int) -> list[StoredEvent]:
        return await asyncio.to_thread(self._read, stream, after, limit)

    def _read(self, stream: str, after: int, limit: int) -> list[StoredEvent]:
        with self._lock:
            rows = self._conn.execute(
                "select seq, event_id, appended_us, body from events where stream = ? and seq > ? order by seq limit ?",
                (stream, after, limit),
            ).fetchall()
        return [StoredEvent(seq, stream, eid, at, body) for seq, eid, at, body in rows]

    async def seq_before(self, stream: str, appended_us: int) -> int:
        return await asyncio.to_thread(
            self._scalar,
            "select coalesce(max(seq), 0) from events where stream = ? and appended_us < ?",
            (stream, appended_us),
        )

    async def last_seq(self, stream: str) -> int:
        return await asyncio.to_thread(
            self._scalar, "select coalesce(max(seq), 0) from events where stream = ?", (stream,)
        )

    def _scalar(self, sql: str, args: tuple[object, ...]) -> int:
        with self._lock:
            return int(self._conn.execute(sql, args).fetchone()[0])

    async def close(self) -> None:
        with self._lock:
            self._conn.close()
