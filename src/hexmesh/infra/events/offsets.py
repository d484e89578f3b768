"""Where consumers and the emitter keep their positions, so a node restart loses nothing.

Kept in ``<home>/offsets.db`` whatever the log backend is: positions belong to the node.
"""

from __future__ import annotations

import threading
from pathlib import Path

from hexmesh.infra.events._sqlite import connect

__all__ = ["OffsetStore"]

_SCHEMA = """
create table if not exists consumer_offsets (
    consumer text not null, stream text not null, seq integer not null,
    primary key (consumer, stream)
);
create table if not exists emitted (
    stream text primary key, snapshot_id integer not null
);
"""


class OffsetStore:
    """Consumer offsets (last sequence processed) and the emitter's last emitted snapshot."""

    def __init__(self, path: Path) -> None:
        self._conn = connect(path, _SCHEMA)
        self._lock = threading.Lock()

    def offset(self, consumer: str, stream: str) -> int | None:
        with self._lock:
            row = self._conn.execute(
                "select seq from consumer_offsets where consumer = ? and stream = ?",
                (consumer, stream),
            ).fetchone()
        return int(row[0]) if row else None

    def commit(self, consumer: str, stream: str, seq: int) -> None:
        """Store ``seq`` as processed; an offset never moves backwards by accident."""
        with self._lock:
            self._conn.execute(
                "insert into consumer_offsets values (?, ?, ?) on conflict (consumer, stream) "
                "do update set seq = max(seq, excluded.seq)",
                (consumer, stream, seq),
            )

    def reset(self, consumer: str, stream: str, seq: int) -> None:
        with self._lock:
            self._conn.execute(
                "insert into consumer_offsets values (?, ?, ?) on conflict (consumer, stream) "
                "do update set seq = excluded.seq",
                (consumer, stream, seq),
            )

    def emitted(self, stream: str) -> int | None:
        with self._lock:
            row = self._conn.execute("select snapshot_id from emitted where stream = ?", (stream,)).fetchone()
        return int(row[0]) if row else None

    def mark_emitted(self, stream: str, snapshot_id: int) -> None:
        with self._lock:
            self._conn.execute(
                "insert into emitted values (?, ?) on conflict (stream) "
                "do update set snapshot_id = excluded.snapshot_id",
                (stream, snapshot_id),
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()
