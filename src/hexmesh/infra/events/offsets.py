"""Where consumers and the emitter keep their positions, so a restart — or another node — loses nothing.

Positions live beside the log they index. The embedded log is a node's own, so are its positions
(``<home>/offsets.db``). A shared log (NATS) is read and written by every node of a cluster, so its
positions are in the shared state store: a consumer that reconnects to another node resumes where it
was, and a node joining late finds every port already emitted and appends no history again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Insert, create_engine, event, insert, select, update
from sqlalchemy.exc import IntegrityError

from hexmesh.infra.state.schema import consumer_offsets, emitted

__all__ = ["OffsetStore"]


class OffsetStore:
    """Consumer offsets (last sequence processed) and the emitter's last emitted snapshot per stream.

    Args:
        where: a file (the node's own ``offsets.db``) or the shared state store's engine.
    """

    def __init__(self, where: Path | Engine) -> None:
        self._own = isinstance(where, Path)
        self.db = _local(where) if isinstance(where, Path) else where

    def offset(self, consumer: str, stream: str) -> int | None:
        t = consumer_offsets
        with self.db.connect() as conn:
            found = conn.execute(select(t.c.seq).where(t.c.consumer == consumer, t.c.stream == stream)).scalar()
        return int(found) if found is not None else None

    def commit(self, consumer: str, stream: str, seq: int) -> None:
        """Store ``seq`` as processed; an offset never moves backwards by accident."""
        self._put(consumer, stream, seq, forward_only=True)

    def reset(self, consumer: str, stream: str, seq: int) -> None:
        self._put(consumer, stream, seq, forward_only=False)

    def _put(self, consumer: str, stream: str, seq: int, *, forward_only: bool) -> None:
        t = consumer_offsets
        where = [t.c.consumer == consumer, t.c.stream == stream] + ([t.c.seq < seq] if forward_only else [])
        _upsert(
            self.db,
            lambda conn: (
                conn.execute(update(t).where(*where).values(seq=seq)).rowcount > 0
                or conn.execute(select(t.c.seq).where(t.c.consumer == consumer, t.c.stream == stream)).first()
                is not None
            ),
            insert(t).values(consumer=consumer, stream=stream, seq=seq),
        )

    def emitted(self, stream: str) -> int | None:
        with self.db.connect() as conn:
            found = conn.execute(select(emitted.c.snapshot_id).where(emitted.c.stream == stream)).scalar()
        return int(found) if found is not None else None

    def mark_emitted(self, stream: str, snapshot_id: int) -> None:
        _upsert(
            self.db,
            lambda conn: (
                conn.execute(update(emitted).where(emitted.c.stream == stream).values(snapshot_id=snapshot_id)).rowcount
                > 0
            ),
            insert(emitted).values(stream=stream, snapshot_id=snapshot_id),
        )

    def close(self) -> None:
        if self._own:
            self.db.dispose()


def _upsert(db: Engine, updated: Callable[[Connection], bool], row: Insert) -> None:
    """Run ``updated(conn)``; when it found no row, insert ``row`` (a concurrent insert wins: try again)."""
    for attempt in range(3):
        try:
            with db.begin() as conn:
                if not updated(conn):
                    conn.execute(row)
            return
        except IntegrityError:
            if attempt == 2:
                raise


def _local(path: Path) -> Engine:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(db, "connect")
    def _wal(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets subscribers read while the emitter appends.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # A file written by an older hexmesh has these two tables already, with the same columns.
    consumer_offsets.create(db, checkfirst=True)
    emitted.create(db, checkfirst=True)
    return db
