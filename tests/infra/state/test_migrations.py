"""One state schema with a version: made in one place, and databases from before it still open."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, inspect, update

from hexmesh.errors import WorkspaceError
from hexmesh.infra.keys import KeyStore
from hexmesh.infra.settings import Settings
from hexmesh.infra.state import StateStore, audit
from hexmesh.infra.state.migrations import SCHEMA_VERSION, migrate, stored_version
from hexmesh.infra.state.rulesets import current_ruleset
from hexmesh.infra.state.schema import metadata, schema_version
from hexmesh.lifecycle import Workspace
from hexmesh.product.policy.ledger import StateLedger

#: A state.db as hexmesh wrote it before the schema had a version (made with commit e9e76b6):
#: a version of sales/shop, an API token, an audit entry, a rule set, ε spent, a subject's key.
V0 = Path(__file__).with_name("state_v0.sql")
V0_TOKEN = "hxm_4936a9d29707243b_5GbUX8DzMo4U6sMlrJRn1zDe9AoQqZbtoalW0LIlbbY"
V0_MASTER = b"k" * 32
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _old_workspace(home: Path, *, without: tuple[str, ...] = ()) -> Path:
    """A workspace whose state.db is the old one; ``without``: tables its code never came to create."""
    home.mkdir(parents=True)
    with sqlite3.connect(home / "state.db") as conn:
        conn.executescript(V0.read_text(encoding="utf-8"))
        for table in without:
            conn.execute(f"drop table {table}")
    return home


def test_a_workspace_from_before_schema_versions_opens_with_every_record(tmp_path: Path) -> None:
    home = _old_workspace(tmp_path / "ws", without=("access_requests", "forgotten_subjects"))
    with Workspace(Settings.defaults(home)) as workspace:
        db = workspace.runtime.state.db
        with db.connect() as conn:
            assert stored_version(conn) == SCHEMA_VERSION
        assert set(metadata.tables) <= set(inspect(db).get_table_names())  # the missing tables were made
        assert [v.version for v in workspace.runtime.state.versions("sales/shop")] == ["1.0.0"]
        ann = workspace.stewardship.authenticate(V0_TOKEN)
        assert (ann.id, ann.groups) == ("ann@example.com", frozenset({"analysts"}))
        assert [e.action for e in workspace.stewardship.audit()] == ["files.read"]
        assert workspace.stewardship.audit_altered_at() is None  # the hash chain goes on unbroken
        audit.append(db, audit.AuditEntry("User:ann@example.com", "files.read", "dp://sales/shop/orders", "allow"))
        assert workspace.stewardship.audit_altered_at() is None
        stored = current_ruleset(db)
        assert stored is not None and (stored.name, stored.revision) == ("acme", 1)
        assert StateLedger(db).remaining("User:ann@example.com", "dp://sales/shop/orders") == pytest.approx(0.75)
        assert set(KeyStore(db, V0_MASTER).keys(["subject-1"])) == {"subject-1"}
        assert workspace.stewardship.requests() == []  # a table it never had, now there and empty


def test_opening_again_changes_nothing(tmp_path: Path) -> None:
    home = _old_workspace(tmp_path / "ws")
    url = f"sqlite:///{home / 'state.db'}"
    StateStore(url).close()
    store = StateStore(url)
    try:
        assert migrate(store.db) == SCHEMA_VERSION
    finally:
        store.close()


def test_a_database_of_a_newer_hexmesh_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    StateStore(url).close()
    db = create_engine(url)
    with db.begin() as conn:
        conn.execute(update(schema_version).values(version=SCHEMA_VERSION + 1))
    db.dispose()
    with pytest.raises(WorkspaceError, match=r"schema version \d+, newer than this hexmesh's .*upgrade hexmesh"):
        StateStore(url)
    db = create_engine(url)
    with db.connect() as conn:
        assert stored_version(conn) == SCHEMA_VERSION + 1
    db.dispose()


def _race(make: list[Engine]) -> list[int | BaseException]:
    """Migrate one new database from several engines (processes, nodes) at once."""
    outcomes: list[int | BaseException] = []
    start = threading.Barrier(len(make))

    def one(db: Engine) -> None:
        start.wait()
        try:
            outcomes.append(migrate(db))
        except BaseException as exc:  # reported below, not lost in the thread
            outcomes.append(exc)

    threads = [threading.Thread(target=one, args=(db,)) for db in make]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_stores_opened_at_once_on_a_new_sqlite_database_all_open(tmp_path: Path) -> None:
    engines = [create_engine(f"sqlite:///{tmp_path / 'state.db'}", connect_args={"timeout": 30}) for _ in range(4)]
    try:
        outcomes = _race(engines)
        assert [o for o in outcomes if isinstance(o, BaseException)] == []
        assert 0 in outcomes and set(outcomes) <= {0, SCHEMA_VERSION}  # one migrated; the others found it done
        with engines[0].connect() as conn:
            assert stored_version(conn) == SCHEMA_VERSION
    finally:
        for db in engines:
            db.dispose()


@pytest.fixture
def postgres_db() -> Iterator[str]:
    name = f"hexmesh_test_schema_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'drop database "{name}" with (force)')


@pytest.mark.postgres
def test_nodes_opening_one_new_postgresql_store_at_once_take_turns(postgres_db: str) -> None:
    engines = [create_engine(postgres_db) for _ in range(3)]
    try:
        outcomes = _race(engines)
        assert [o for o in outcomes if isinstance(o, BaseException)] == []
        assert sorted(o for o in outcomes if isinstance(o, int)) == [0, SCHEMA_VERSION, SCHEMA_VERSION]  # one migrated
        with engines[0].connect() as conn:
            assert stored_version(conn) == SCHEMA_VERSION
    finally:
        for db in engines:
            db.dispose()
