"""The key store in bulk, on SQLite and on PostgreSQL: a run that meets many subjects makes or finds their keys at once.

Large requests against a table not much larger are answered by one scan, small ones by ``IN``
lists; both must find exactly the keys stored, and keys written by earlier versions (the same
HMAC of the subject) must keep opening.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, select

from hexmesh.infra.keys import KeyStore, KeyStoreError
from hexmesh.infra.keys.subjects import data_keys
from hexmesh.infra.state.migrations import migrate

MASTER = b"k" * 32
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
MANY = 25_000  # more than the store matches by IN lists: a first run's subjects are matched by one scan


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if request.param == "sqlite":
        made = create_engine(f"sqlite:///{tmp_path_factory.mktemp('keys') / 'state.db'}")
        migrate(made)
        yield made
        made.dispose()
        return
    name = f"hexmesh_test_keys_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    made = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
    migrate(made)
    try:
        yield made
    finally:
        made.dispose()
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'drop database "{name}" with (force)')


def test_many_new_subjects_get_their_keys_in_one_call_and_are_found_again(db: Engine) -> None:
    subjects = [f"listener-{i}" for i in range(MANY)]
    made = KeyStore(db, MASTER).ensure(subjects)
    assert set(made) == set(subjects) and len(set(made.values())) == MANY
    other = KeyStore(db, MASTER)  # another process: nothing remembered
    assert other.keys(subjects) == made  # many at once: one scan
    few = [*subjects[:3], "never-seen"]
    assert other.keys(few) == {s: made[s] for s in subjects[:3]}  # a few among many: IN lists
    assert other.ensure([*subjects, "new-one"]) == made | other.keys(["new-one"])


def test_keys_are_stored_under_the_hmac_of_the_subject(db: Engine) -> None:
    """Rows written by earlier versions are keyed the same way, so their values keep opening."""
    store = KeyStore(db, MASTER)
    key = store.ensure(["ann"])["ann"]
    expected = hmac.new(MASTER, b"ann", hashlib.sha256).hexdigest()
    with db.connect() as conn:
        stored = conn.execute(select(data_keys.c.subject_hash).where(data_keys.c.subject_hash == expected)).all()
    assert len(stored) == 1
    assert KeyStore(db, MASTER).keys(["ann"]) == {"ann": key}


def test_a_forgotten_subject_among_a_first_runs_many_gets_no_key(db: Engine) -> None:
    store = KeyStore(db, MASTER)
    store.ensure(["gone"])
    assert store.forget("gone")
    subjects = [f"n{i}" for i in range(MANY)]
    with pytest.raises(KeyStoreError, match="1 subject\\(s\\) were forgotten and cannot get new keys"):
        store.ensure([*subjects, "gone"])
    assert store.keys(subjects) == {}  # refused before any key was made
    assert store.forgotten([*subjects, "gone"]) == {"gone"}
