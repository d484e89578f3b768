"""The example mesh done by hand: the same SQL on plain DuckDB, reading the sources, writing Parquet.

This is what a team would write without hexmesh: no schema conformance, no quality gate, no
snapshots or publication log. It is the yardstick for the publish benchmark.

Where a product seals a restricted field (user-profiles' ``email``), so does the baseline, the
least a team could do by hand and still shred a subject later: one random AES-256 key per
subject, wrapped with a master key and kept in SQLite under an HMAC of the subject (one lookup,
one transaction for the new ones), and each value AES-GCM-sealed with its subject's key
(:class:`Sealer`). Its seconds are also reported on their own.

Like hexmesh, it reads user-profiles' input from the registration service's PostgreSQL table,
the rows above the last ``id`` it read: DuckDB's postgres extension cannot be installed offline,
so the rows come through ``COPY ... TO STDOUT`` into Arrow (hexmesh's own COPY reader, the
fastest way we have) and are registered with DuckDB.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import quote

import duckdb
import psycopg
import pyarrow as pa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg import sql as pgsql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from hexmesh.demo.database import DEFAULT_POSTGRES, POSTGRES_VARIABLE
from hexmesh.product.postgres_source import arrow_table

__all__ = ["ORDER", "Registrations", "Sealer", "registration_database", "run_day"]

#: Products in dependency order, with their output port.
ORDER = [
    ("podcasts/play-events", "plays"),
    ("users/user-profiles", "profiles"),
    ("podcasts/listener-demographics", "daily"),
    ("podcasts/podcast-catalog", "podcasts"),
    ("podcasts/top-podcasts-daily", "chart"),
]

# The catalog's transformation is Python in the mesh; here the same rule is SQL.
_CATALOG_SQL = """
select *, regexp_replace(lower(regexp_replace(title, '^The ', '')), '[^a-z0-9]+', '-', 'g')
          || '-' || podcast_id as slug
from catalog_export
"""


@dataclass
class Registrations:
    """The registration table and the last ``id`` read from it (a cursor, as hexmesh keeps one)."""

    postgres: str
    last_id: int = 0

    def read_new(self) -> pa.Table:
        """The rows added since the last read."""
        with psycopg.connect(self.postgres, autocommit=True) as conn:
            conn.execute("set timezone = 'UTC'; set datestyle = 'ISO, YMD'")
            (high,) = conn.execute("select coalesce(max(id), 0) from registrations").fetchone() or (0,)
            where = pgsql.SQL("id > {} and id <= {}").format(self.last_id, high)
            table = arrow_table(conn, pgsql.Identifier("registrations"), where)
        self.last_id = int(high)
        return table


class Sealer:
    """Per-subject keys in a SQLite file (wrapped, keyed by HMAC), and AES-GCM sealing of one text column."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)
        self.db.execute("pragma journal_mode = wal")
        self.db.execute("create table if not exists keys (subject_hash text primary key, wrapped blob not null)")
        self.master = hashlib.sha256(b"baseline master key").digest()

    def seal(self, table: pa.Table, column: str, subject: str) -> pa.Table:
        """``table`` with ``column`` sealed per row's ``subject`` (nulls stay null)."""
        subjects, values = table.column(subject).to_pylist(), table.column(column).to_pylist()
        keys = self._keys({s for s, v in zip(subjects, values, strict=True) if v is not None})
        nonces = os.urandom(12 * len(values))  # one call to the random source, a fresh nonce per value
        sealed: list[bytes | None] = []
        label = f"{column}\0".encode()
        for row, (who, value) in enumerate(zip(subjects, values, strict=True)):
            if value is None:
                sealed.append(None)
                continue
            nonce = nonces[12 * row : 12 * row + 12]
            blob = nonce + AESGCM(keys[who]).encrypt(nonce, value.encode(), label + who.encode())
            sealed.append(b"hxm1:" + binascii.b2a_base64(blob, newline=False))
        index = table.schema.get_field_index(column)
        return table.set_column(index, column, pa.array(sealed, pa.binary()).cast(pa.string()))

    def _keys(self, subjects: set[str]) -> dict[str, bytes]:
        """Each subject's key: looked up by HMAC in one join, the missing ones made and stored in one transaction."""
        hashed = {hmac.digest(self.master, s.encode(), "sha256").hex(): s for s in subjects}
        wrap, keys = AESGCM(self.master), dict[str, bytes]()
        self.db.execute("create temp table if not exists wanted (h text primary key)")
        self.db.execute("delete from wanted")
        self.db.executemany("insert into wanted values (?)", ((h,) for h in hashed))
        for h, wrapped in self.db.execute("select subject_hash, wrapped from keys join wanted on h = subject_hash"):
            keys[hashed[h]] = wrap.decrypt(wrapped[:12], wrapped[12:], h.encode())
        missing = [(h, who) for h, who in hashed.items() if who not in keys]
        material = os.urandom(44 * len(missing))  # 32 bytes of key and a 12-byte nonce per new subject
        new = []
        for i, (h, who) in enumerate(missing):
            key, nonce = material[44 * i : 44 * i + 32], material[44 * i + 32 : 44 * i + 44]
            keys[who] = key
            new.append((h, nonce + wrap.encrypt(nonce, key, h.encode())))
        with self.db:
            self.db.executemany("insert into keys values (?, ?)", new)
        return keys


@contextmanager
def registration_database(bench: str) -> Iterator[str]:
    """A registration database of this benchmark run's own, in ``$HEXMESH_DEMO_POSTGRES`` meanwhile; dropped after.

    The demo's code creates it (on the server of ``$HEXMESH_DEMO_POSTGRES``, else the default).
    """
    name = f"hexmesh_bench_{bench}_{os.getpid()}"
    previous = os.environ.get(POSTGRES_VARIABLE)
    server = make_conninfo(previous or DEFAULT_POSTGRES, dbname="postgres")
    # A URL, not a libpq key=value string: a product's database input only reads postgresql:// URLs.
    os.environ[POSTGRES_VARIABLE] = _url(server, name)  # the sides' processes inherit it
    try:
        yield os.environ[POSTGRES_VARIABLE]
    finally:
        if previous is None:
            del os.environ[POSTGRES_VARIABLE]
        else:
            os.environ[POSTGRES_VARIABLE] = previous
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(pgsql.SQL("drop database if exists {} with (force)").format(pgsql.Identifier(name)))


def _url(server: str, database: str) -> str:
    """``postgresql://user[:password]@host:port/database`` of the server ``server`` (libpq conninfo)."""
    parts = conninfo_to_dict(server)
    login = quote(str(parts.get("user", "postgres")), safe="")
    if parts.get("password"):
        login += ":" + quote(str(parts["password"]), safe="")
    return f"postgresql://{login}@{parts.get('host', '127.0.0.1')}:{parts.get('port', 5432)}/{database}"


def _q(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _inputs(landing: Path, out: Path, day: date) -> dict[str, dict[str, str]]:
    """Per product, each input port as a relation over the day's files or upstream outputs."""
    plays = f"read_parquet({_q(out / 'podcasts/play-events/plays' / f'{day}.parquet')})"
    catalog = out / "podcasts/podcast-catalog/podcasts" / f"{day}.parquet"
    return {
        "podcasts/play-events": {"player_logs": f"read_csv({_q(landing / 'player_logs' / f'{day}.csv')})"},
        "users/user-profiles": {"registrations": "registrations_arrow"},
        "podcasts/listener-demographics": {
            "plays": plays,
            "profiles": f"read_parquet({_q(out / 'users/user-profiles/profiles' / '*.parquet')})",
        },
        "podcasts/podcast-catalog": {"catalog_export": f"read_parquet({_q(landing / 'catalog' / 'podcasts.parquet')})"},
        "podcasts/top-podcasts-daily": {
            "plays": plays,
            "catalog": f"read_parquet({_q(catalog)})",
        },
    }


def run_day(
    mesh: Path, landing: Path, out: Path, day: date, registrations: Registrations, sealer: Sealer
) -> dict[str, float]:
    """Run every product for ``day``; seconds per product (and ``sealing``: user-profiles' share in it)."""
    timings: dict[str, float] = {}
    inputs = _inputs(landing, out, day)
    for key, port in ORDER:
        started = time.perf_counter()
        folder = mesh / key
        sql = (
            _CATALOG_SQL
            if key == "podcasts/podcast-catalog"
            else (folder / "transform.sql").read_text(encoding="utf-8")
        )
        target = out / key / port / f"{day}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect()
        try:
            if key == "users/user-profiles":
                con.register("registrations_arrow", registrations.read_new())
            for name, relation in inputs[key].items():
                con.execute(f"create view {name} as select * from {relation}")
            if key == "users/user-profiles":
                profiles = con.sql(sql).to_arrow_table()
                sealing = time.perf_counter()
                profiles = sealer.seal(profiles, "email", "user_id")
                timings["sealing"] = time.perf_counter() - sealing
                con.register("sealed_profiles", profiles)
                sql = "select * from sealed_profiles"
            con.execute(f"copy ({sql}) to {_q(target)} (format parquet, compression zstd)")
        finally:
            con.close()
        timings[key] = time.perf_counter() - started
    return timings
