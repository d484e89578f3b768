"""The key store: one AES-256 data key per data subject, wrapped (AES-GCM) with the master key.

Rows are keyed by HMAC(master, subject), so the table never holds a subject's id in clear, and
forgetting a subject leaves only a tombstone of that HMAC. On SQLite, deletes run with
``secure_delete`` and the WAL is checkpointed, so the wrapped key is overwritten on disk too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Iterable, Iterator

from sqlalchemy import BigInteger, Column, Engine, LargeBinary, String, Table, delete, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from hexmesh.errors import HexmeshError
from hexmesh.infra.state.records import now_us
from hexmesh.infra.state.schema import metadata

__all__ = [
    "KeyStore",
    "KeyStoreError",
    "data_keys",
    "decode_master_key",
    "forgotten_subjects",
    "generate_master_key",
    "master_key_from_env",
]

MASTER_KEY_ENV = "HEXMESH_MASTER_KEY"

data_keys = Table(
    "data_keys",
    metadata,
    Column("subject_hash", String(64), primary_key=True),
    Column("wrapped", LargeBinary, nullable=False),
    Column("created_us", BigInteger, nullable=False),
)

forgotten_subjects = Table(
    "forgotten_subjects",
    metadata,
    Column("subject_hash", String(64), primary_key=True),
    Column("forgotten_us", BigInteger, nullable=False),
)


class KeyStoreError(HexmeshError):
    """A master key is missing or wrong, or a forgotten subject's key was asked for."""

    exit_code = 25


def generate_master_key() -> str:
    """A new master key, base64url text for ``HEXMESH_MASTER_KEY``."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def master_key_from_env() -> bytes:
    """The master key from ``HEXMESH_MASTER_KEY`` (32 bytes, base64url)."""
    value = os.environ.get(MASTER_KEY_ENV)
    if not value:
        raise KeyStoreError(
            f"{MASTER_KEY_ENV} is not set; restricted fields need a master key. Create one with "
            "python -c 'from hexmesh.infra.keys import generate_master_key as g; print(g())'"
        )
    return decode_master_key(value, MASTER_KEY_ENV)


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


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    """Slices of ``items``: ``IN (...)`` lists stay under SQLite's bound-parameter limit."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


class KeyStore:
    """Create, fetch and destroy per-subject data keys in the state database."""

    def __init__(self, engine: Engine, master_key: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if len(master_key) != 32:
            raise KeyStoreError("the master key must be 32 bytes")
        self.engine = engine
        self._master = master_key
        self._wrap = AESGCM(master_key)
        metadata.create_all(engine, tables=[data_keys, forgotten_subjects])
        self._check_master()

    def _check_master(self) -> None:
        """Refuse a master key other than the first one used on this database.

        Without this check a wrong key would silently find no subject key at all: every restricted
        value would read as forgotten, and new keys would be minted next to the old ones.
        """
        check = "check:" + "0" * 58
        with self.engine.connect() as conn:
            wrapped = conn.execute(select(data_keys.c.wrapped).where(data_keys.c.subject_hash == check)).scalar()
        if wrapped is not None:
            self._unwrap(check, wrapped)
            return
        nonce = os.urandom(12)
        try:
            with self.engine.begin() as conn:
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
        return hmac.new(self._master, subject.encode(), hashlib.sha256).hexdigest()

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

        New keys are written in one transaction per batch (a run may meet a million new subjects);
        a batch that races another writer falls back to one insert per key and reads theirs.
        """
        wanted = sorted(set(subjects))
        found = self.keys(wanted)
        missing = [s for s in wanted if s not in found]
        if not missing:
            return found
        hashes = [self._hash(s) for s in missing]
        forgotten = forgotten_subjects.c.subject_hash
        with self.engine.connect() as conn:
            gone = sum(len(conn.execute(select(forgotten).where(forgotten.in_(c))).all()) for c in _chunks(hashes))
        if gone:
            raise KeyStoreError(
                f"{gone} subject(s) were forgotten and cannot get new keys; drop their rows in the transformation"
            )
        for chunk in _chunks(hashes, 5000):
            rows = [{"subject_hash": h, "wrapped": self._new_wrapped_key(h), "created_us": now_us()} for h in chunk]
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(data_keys), rows)
            except IntegrityError:
                for row in rows:  # another writer created some of them first: keep theirs
                    try:
                        with self.engine.begin() as conn:
                            conn.execute(insert(data_keys).values(**row))
                    except IntegrityError:
                        pass
        found.update(self.keys(missing))
        return found

    def _new_wrapped_key(self, subject_hash: str) -> bytes:
        key, nonce = os.urandom(32), os.urandom(12)
        return nonce + self._wrap.encrypt(nonce, key, subject_hash.encode())

    def keys(self, subjects: Iterable[str]) -> dict[str, bytes]:
        """The existing keys of ``subjects``; forgotten or unknown subjects are absent."""
        hashes = {self._hash(s): s for s in set(subjects)}
        out: dict[str, bytes] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(hashes)):
                for row in conn.execute(select(data_keys).where(data_keys.c.subject_hash.in_(chunk))):
                    out[hashes[row.subject_hash]] = self._unwrap(row.subject_hash, row.wrapped)
        return out

    def forget(self, subject: str) -> bool:
        """Destroy the subject's key (crypto-shredding); True if a key existed. Irreversible."""
        subject_hash = self._hash(subject)
        sqlite = self.engine.dialect.name == "sqlite"
        with self.engine.begin() as conn:
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
            with self.engine.connect() as conn:
                # Old page images may linger in the write-ahead log until a checkpoint truncates it.
                conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        return bool(removed)

    def forgotten(self, subjects: Iterable[str]) -> set[str]:
        """Which of ``subjects`` were forgotten."""
        hashes = {self._hash(s): s for s in set(subjects)}
        items = list(hashes)
        out: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(items), 500):
                found = conn.execute(
                    select(forgotten_subjects.c.subject_hash).where(
                        forgotten_subjects.c.subject_hash.in_(items[start : start + 500])
                    )
                ).scalars()
                out.update(hashes[h] for h in found)
        return out

    def epoch(self) -> tuple[int, int]:
        """Changes whenever a subject is forgotten: part of every cache key of opened data."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(func.count(), func.max(forgotten_subjects.c.forgotten_us)).select_from(forgotten_subjects)
            ).one()
        return int(row[0]), int(row[1] or 0)

    def is_forgotten(self, subject: str) -> bool:
        with self.engine.connect() as conn:
            return (
                conn.execute(
                    select(forgotten_subjects.c.subject_hash).where(
                        forgotten_subjects.c.subject_hash == self._hash(subject)
                    )
                ).first()
                is not None
            )
