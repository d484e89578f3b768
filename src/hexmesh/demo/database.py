"""The registration service's PostgreSQL database, which the demo creates and fills when asked.

Without ``--postgres`` or ``$HEXMESH_DEMO_POSTGRES`` the table is in SQLite (:mod:`hexmesh.demo.embedded`).

The example mesh's ``users/user-profiles`` reads its ``registrations`` table (one row per
registration event) by the ``id`` cursor. The demo owns that database: it creates it when
missing, starts the table afresh for a fresh workspace, and loads each generated day's
registration events into it. A day loaded twice adds nothing (``event_id`` is unique).
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from hexmesh.errors import HexmeshError, redacted_url
from hexmesh.infra.settings import DEMO_POSTGRES_ENV

__all__ = ["DEFAULT_POSTGRES", "POSTGRES_VARIABLE", "Registrations", "demo_postgres"]

#: The variable the example spec reads its connection URL from, and the URL it falls back to.
POSTGRES_VARIABLE = DEMO_POSTGRES_ENV
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/hexmesh_demo"

_TABLE = """
create table if not exists registrations (
    id bigserial primary key,
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
_COLUMNS = "event_id, event_type, user_id, registered_at, email, birth_year, country, plan, platform, marketing_opt_in"
# JSON lines pass through COPY untouched as one jsonb value per line: neither byte occurs in them.
_COPY_LINES = "copy incoming (line) from stdin (format csv, quote e'\\x01', delimiter e'\\x02')"


def demo_postgres(postgres: str | None = None) -> str | None:
    """The PostgreSQL URL asked for: the one given, else ``$HEXMESH_DEMO_POSTGRES``; None when neither."""
    return postgres or os.environ.get(POSTGRES_VARIABLE) or None


class Registrations:
    """The ``registrations`` table of the demo's registration service database."""

    def __init__(self, url: str) -> None:
        self.url = url

    @classmethod
    def prepare(cls, url: str, *, fresh: bool) -> Registrations:
        """Create the database and the table when missing; with ``fresh``, drop the table's old rows first."""
        table = cls(url)
        try:
            table._create_database()
            with table._connect() as conn:
                if fresh:
                    conn.execute("drop table if exists registrations")
                conn.execute(_TABLE)
        except psycopg.Error as exc:
            raise table._error("could not prepare", exc) from None
        return table

    def load(self, file: Path) -> int:
        """Insert the registration events of one JSON-lines file; returns how many were new."""
        try:
            with self._connect() as conn, conn.transaction():
                conn.execute("create temporary table incoming (line jsonb) on commit drop")
                with conn.cursor() as cur:
                    with cur.copy(_COPY_LINES) as copy, file.open("rb") as lines:
                        while chunk := lines.read(1 << 20):
                            copy.write(chunk)
                    cur.execute(
                        f"insert into registrations ({_COLUMNS}) select {_COLUMNS} from incoming, "
                        "jsonb_populate_record(null::registrations, incoming.line) "
                        "order by registered_at, event_id on conflict (event_id) do nothing"
                    )
                    return cur.rowcount
        except psycopg.Error as exc:
            raise self._error(f"could not load {file} into", exc) from None

    def _connect(self, url: str | None = None) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(url or self.url, connect_timeout=10, autocommit=True, application_name="hexmesh-demo")

    def _create_database(self) -> None:
        name = conninfo_to_dict(self.url).get("dbname")
        if not name:
            raise HexmeshError(
                f"the demo's PostgreSQL URL {redacted_url(self.url)!r} names no database; "
                f"add one, for example {DEFAULT_POSTGRES}"
            )
        try:
            with self._connect():
                return  # it exists
        except psycopg.OperationalError as exc:
            if "does not exist" not in str(exc):
                raise
        server = make_conninfo(self.url, dbname="postgres")
        # DuplicateDatabase: another demo created it meanwhile.
        with self._connect(server) as conn, suppress(psycopg.errors.DuplicateDatabase):
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(str(name))))

    def _error(self, what: str, exc: psycopg.Error) -> HexmeshError:
        return HexmeshError(
            f"the demo {what} the registration service's PostgreSQL database at {redacted_url(self.url)} "
            f"({type(exc).__name__}: {' '.join(str(exc).split())}). The example mesh's users/user-profiles "
            f"reads it. Start PostgreSQL there, or point the demo at one you can use: "
            f"{POSTGRES_VARIABLE}=postgresql://USER@HOST:5432/hexmesh_demo hexmesh demo, or "
            f"hexmesh demo --postgres postgresql://USER@HOST:5432/hexmesh_demo (the demo creates the database)"
        )
