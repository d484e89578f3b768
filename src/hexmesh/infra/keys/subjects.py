"""The key store: one AES-256 data key per data subject, wrapped (AES-GCM) with the master key.

Rows are keyed by HMAC(master, subject), so the table never holds a subject's id in clear, and
forgetting a subject leaves only a tombstone of that HMAC. On SQLite, deletes run with
``secure_delete`` and the WAL is checkpointed, so the wrapped key is overwritten on disk too.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Table,
    delete,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError

from hexmesh.errors import HexmeshError
from hexmesh.infra.settings import variable
from hexmesh.infra.state.records import now_us
from hexmesh.infra.state.schema import data_keys, forgotten_subjects

__all__ = [
    "KeyStore",
    "KeyStoreError",
    "data_keys",
    "decode_master_key",
    "forgotten_subjects",
    "generate_master_key",
]

MASTER_KEY_ENV = variable("master_key")


class KeyStoreError(HexmeshError):
    """A master key is missing or wrong, or a forgotten subject's key was asked for."""

    exit_code = 25


def generate_master_key() -> str:
    """A new master key, base64url text for ``HEXMESH_MASTER_KEY``."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def decode_master_key(value: str, origin: str) -> bytes:
    """A master key from its base64url text; ``origin`` (a variable or file) names it in errors."""
    try:
        key = base64.b64decode(value.strip(), altchars=b"-_", validate=True)
    except ValueError as exc:
        raise KeyStoreError(
            f"{origin} is not base64url text; a master key is 32 random bytes, made by generate_master_key()"
        ) from exc
    if len(key) != 32:
        raise KeyStoreError(f"{origin} decodes to {len(key)} bytes; a master key must be 32")
    return key


#: Hashes per ``IN (...)`` list: under SQLite's bound-parameter limit (32,766 since 3.32, 999 before).
_IN_LIST = 10_000 if sqlite3.sqlite_version_info >= (3, 32) else 500
#: From this many hashes on, a table with at most _SCAN_SHARE times as many rows is scanned whole.
_SCAN_FROM, _SCAN_SHARE = 20_000, 4


def _chunks(items: list[str], size: int = _IN_LIST) -> Iterator[list[str]]:
    """Slices of ``items``, each one ``IN (...)`` list or one insert batch."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _matching(conn: Connection, table: Table, hashes: list[str], *columns: Column[Any]) -> Iterator[Sequence[Any]]:
    """Rows of ``table`` (subject_hash, ``columns``) whose subject hash is in ``hashes``.

    Many hashes against a table not much larger (a first run's million new subjects, the few
    forgotten ones) are matched in one scan of the table; otherwise by ``IN`` lists.
    """
    key = table.c.subject_hash
    if len(hashes) >= _SCAN_FROM:
        total = conn.execute(select(func.count()).select_from(table)).scalar_one()
        if total <= _SCAN_SHARE * len(hashes):
            wanted = set(hashes)
            yield from (row for row in conn.execute(select(key, *columns)).all() if row[0] in wanted)
            return
    if conn.dialect.name == "sqlite":
        # Through the driver: SQLAlchemy names one bind parameter per hash of an IN list and
        # fetches row by row, which for a million keys took longer than SQLite's lookups themselves.
        head = f"SELECT {', '.join(c.name for c in (key, *columns))} FROM {table.name} WHERE {key.name} IN "
        for chunk in _chunks(hashes):
            yield from conn.exec_driver_sql(head + "(" + ", ".join("?" * len(chunk)) + ")", tuple(chunk)).all()
        return
    for chunk in _chunks(hashes):
        yield from conn.execute(select(key, *columns).where(key.in_(chunk)))


def _insert(conn: Connection, rows: list[tuple[str, bytes, int]]) -> None:
    """Insert ``(subject_hash, wrapped, created_us)`` rows through the driver.

    SQLAlchemy's per-row parameter processing would cost as much as the inserts themselves. On
    SQLite, multi-row INSERTs of 300 rows (900 parameters, under every version's limit) take a
    third less time than executemany; other drivers batch executemany themselves.
    """
    names = ("subject_hash", "wrapped", "created_us")
    if conn.dialect.name == "sqlite":
        head = f"INSERT INTO {data_keys.name} ({', '.join(names)}) VALUES "
        for start in range(0, len(rows), 300):
            part = rows[start : start + 300]
            conn.exec_driver_sql(head + ", ".join(["(?, ?, ?)"] * len(part)), tuple(v for row in part for v in row))
        return
    compiled = insert(data_keys).compile(dialect=conn.dialect)
    if not compiled.positional:
        conn.exec_driver_sql(compiled.string, [dict(zip(names, row, strict=True)) for row in rows])
    elif tuple(compiled.positiontup or ()) == names:
        conn.exec_driver_sql(compiled.string, rows)
    else:
        order = [names.index(name) for name in compiled.positiontup or ()]
        conn.exec_driver_sql(compiled.string, [tuple(row[i] for i in order) for row in rows])


class KeyStore:
    """Create, fetch and destroy per-subject data keys in the state database."""

    def __init__(self, db: Engine, master_key: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if len(master_key) != 32:
            raise KeyStoreError("the master key must be 32 bytes")
        self.db = db
        self._wrap = AESGCM(master_key)
        # HMAC-SHA256 with the key's inner and outer hash states made once: a million subjects
        # are hashed in a fraction of the time hmac.new() takes for each.
        padded = master_key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
        self._check_master()

    def _check_master(self) -> None:
        """Refuse a master key other than the first one used on this database.

        Without this check a wrong key would silently find no subject key at all: every restricted
        value would read as forgotten, and new keys would be minted next to the old ones.
        """
        check = "check:" + "0" * 58
        with self.db.connect() as conn:
            wrapped = conn.execute(select(data_keys.c.wrapped).where(data_keys.c.subject_hash == check)).scalar()
        if wrapped is not None:
            self._unwrap(check, wrapped)
            return
        nonce = os.urandom(12)
        try:
            with self.db.begin() as conn:
                conn.execute(
                    insert(data_keys).values(
                        subject_hash=check,
                        wrapped=nonce + self._wrap.encrypt(nonce, b"hexmesh", check.encode()),
                        created_us=now_us(),
                    )
                )
        except IntegrityError:
            self._check_master()  # another process wrote it first: verify theirs

    def _hash(self, subject: str) -> str:
        return next(iter(self._hashes([subject])))

    def _hashes(self, subjects: Iterable[str]) -> dict[str, str]:
        """HMAC-SHA256(master, subject) in hex → subject (RFC 2104, from the precomputed pad states)."""
        inner, outer = self._inner.copy, self._outer.copy
        out: dict[str, str] = {}
        for subject in subjects:
            hashed = inner()
            hashed.update(subject.encode())
            keyed = outer()
            keyed.update(hashed.digest())
            out[keyed.hexdigest()] = subject
        return out

    def _unwrap(self, subject_hash: str, wrapped: bytes) -> bytes:
        from cryptography.exceptions import InvalidTag

        try:
            return self._wrap.decrypt(wrapped[:12], wrapped[12:], subject_hash.encode())
        except InvalidTag as exc:
            raise KeyStoreError(
                "the master key is not the one this workspace's data keys were wrapped with, so no "
                f"restricted value can be opened; set {MASTER_KEY_ENV} (or restore <home>/keys/master.key) "
                "to the original key. Nothing was changed."
            ) from exc

    def ensure(self, subjects: Iterable[str]) -> dict[str, bytes]:
        """The keys of ``subjects``, creating missing ones; a forgotten subject is an error.

        One lookup, then the new keys are written in one transaction and returned as made,
        without reading them back; a batch that races another writer falls back to one insert
        per key and reads theirs. Callers pass a batch of rows' subjects at a time.
        """
        hashes = self._hashes(set(subjects))
        found = self._lookup(hashes)
        missing = {h: s for h, s in hashes.items() if s not in found}
        if not missing:
            return found
        with self.db.connect() as conn:
            gone = sum(1 for _ in _matching(conn, forgotten_subjects, list(missing)))
        if gone:
            raise KeyStoreError(
                f"{gone} subject(s) were forgotten and cannot get new keys; drop their rows in the transformation"
            )
        # In hash order: the batch lands in one region of the primary key's B-tree at a time.
        made: dict[str, bytes] = {}
        rows: list[tuple[str, bytes, int]] = []
        for chunk in _chunks(sorted(missing), 5000):
            # One call to the random source per chunk: 32 bytes of key and a 12-byte nonce per subject.
            material, wrap, created = os.urandom(44 * len(chunk)), self._wrap.encrypt, now_us()
            for i, h in enumerate(chunk):
                key, nonce = material[44 * i : 44 * i + 32], material[44 * i + 32 : 44 * i + 44]
                made[h] = key
                rows.append((h, nonce + wrap(nonce, key, h.encode()), created))
        try:
            # One transaction for the whole batch: a commit per few thousand keys made the
            # disk's flushes the larger part of a first run's sealing.
            with self.db.begin() as conn:
                _insert(conn, rows)
        except IntegrityError:
            raced = []
            for row in rows:  # another writer created some of them first: keep theirs
                try:
                    with self.db.begin() as conn:
                        _insert(conn, [row])
                except IntegrityError:
                    raced.append(row[0])
            for subject_hash in raced:
                del made[subject_hash]
            found.update(self._lookup({h: missing[h] for h in raced}))
        found.update({missing[h]: key for h, key in made.items()})
        return found

    def keys(self, subjects: Iterable[str]) -> dict[str, bytes]:
        """The existing keys of ``subjects``; forgotten or unknown subjects are absent."""
        return self._lookup(self._hashes(set(subjects)))

    def _lookup(self, hashes: dict[str, str]) -> dict[str, bytes]:
        """The keys stored under ``hashes`` (subject hash → subject), by subject."""
        out: dict[str, bytes] = {}
        with self.db.connect() as conn:
            for row in _matching(conn, data_keys, list(hashes), data_keys.c.wrapped):
                out[hashes[row[0]]] = self._unwrap(row[0], row[1])
        return out

    def forget(self, subject: str) -> bool:
        """Destroy the subject's key (crypto-shredding); True if a key existed. Irreversible."""
        subject_hash = self._hash(subject)
        sqlite = self.db.dialect.name == "sqlite"
        with self.db.begin() as conn:
            if sqlite:
                # Overwrite the deleted row's bytes instead of leaving them in a free page.
                conn.execute(text("PRAGMA secure_delete=ON"))
            removed = conn.execute(delete(data_keys).where(data_keys.c.subject_hash == subject_hash)).rowcount
            exists = conn.execute(
                select(forgotten_subjects.c.subject_hash).where(forgotten_subjects.c.subject_hash == subject_hash)
            ).first()
            if exists is None:
                conn.execute(insert(forgotten_subjects).values(subject_hash=subject_hash, forgotten_us=now_us()))
        if sqlite:
            with self.db.connect() as conn:
                # Old page images may linger in the write-ahead log until a checkpoint truncates it.
                conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        return bool(removed)

    def forgotten(self, subjects: Iterable[str]) -> set[str]:
        """Which of ``subjects`` were forgotten."""
        hashes = self._hashes(set(subjects))
        with self.db.connect() as conn:
            return {hashes[row[0]] for row in _matching(conn, forgotten_subjects, list(hashes))}

    def epoch(self) -> tuple[int, int]:
        """Changes whenever a subject is forgotten: part of every cache key of opened data."""
        with self.db.connect() as conn:
            row = conn.execute(
                select(func.count(), func.max(forgotten_subjects.c.forgotten_us)).select_from(forgotten_subjects)
            ).one()
        return int(row[0]), int(row[1] or 0)

    def is_forgotten(self, subject: str) -> bool:
        with self.db.connect() as conn:
            return (
                conn.execute(
                    select(forgotten_subjects.c.subject_hash).where(
                        forgotten_subjects.c.subject_hash == self._hash(subject)
                    )
                ).first()
                is not None
            )
