"""The registration service's table in SQLite: the demo's default, with nothing else running.

Same table and same loading rules as the PostgreSQL database (:mod:`hexmesh.demo.database`):
``id`` grows with each row (the cursor users/user-profiles reads by), ``event_id`` is unique, so
a day loaded twice adds no rows. The file lives in the workspace's landing folder.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

from hexmesh.errors import HexmeshError

__all__ = ["SqliteRegistrations", "sqlite_url"]

_TABLE = """
create table if not exists registrations (
    id integer primary key autoincrement,
    event_id text not null unique,
    event_type text not null,
    user_id text not null,
    registered_at timestamptz not null,
    email text,
    birth_year integer,
    country text,
    plan text,
    platform text,
    marketing_opt_in boolean
)
"""
_COLUMNS = (
    "event_id",
    "event_type",
    "user_id",
    "registered_at",
    "email",
    "birth_year",
    "country",
    "plan",
    "platform",
    "marketing_opt_in",
)


def sqlite_url(file: Path) -> str:
    """``sqlite:///`` followed by the file's absolute path."""
    return f"sqlite:///{file.resolve()}"


class SqliteRegistrations:
    """The ``registrations`` table in a SQLite file."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.url = sqlite_url(file)

    @classmethod
    def prepare(cls, file: Path, *, fresh: bool) -> SqliteRegistrations:
        """Create the file and the table when missing; with ``fresh``, drop the table's old rows first."""
        table = cls(file)
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(file)) as conn, conn:
                if fresh:
                    conn.execute("drop table if exists registrations")
                conn.execute(_TABLE)
        except sqlite3.Error as exc:
            raise HexmeshError(f"the demo could not prepare the SQLite registration table in {file}: {exc}") from None
        return table

    def load(self, file: Path) -> int:
        """Insert the registration events of one JSON-lines file; returns how many were new."""
        events = [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
        events.sort(key=lambda e: (str(e["registered_at"]), str(e["event_id"])))
        rows = [tuple(event.get(name) for name in _COLUMNS) for event in events]
        placeholders = ", ".join("?" for _ in _COLUMNS)
        try:
            with closing(sqlite3.connect(self.file)) as conn, conn:
                before = conn.total_changes
                conn.executemany(
                    f"insert into registrations ({', '.join(_COLUMNS)}) values ({placeholders}) "
                    "on conflict (event_id) do nothing",
                    rows,
                )
                return conn.total_changes - before
        except sqlite3.Error as exc:
            raise HexmeshError(f"the demo could not load {file} into the SQLite table in {self.file}: {exc}") from None
