"""PostgreSQL sources read by logical replication (mode: cdc) on the real server: each change once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from hexmesh.cli.main import app
from hexmesh.errors import InputError, SpecError
from hexmesh.lifecycle import Workspace
from hexmesh.product.cdc import slot_name
from hexmesh.spec import parse_spec
from tests.product.cluster import cluster
from tests.product.killer import terminating
from tests.support import ProductFactory

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

pytestmark = pytest.mark.postgres

SPEC = """
domain: cdc
name: {name}
version: 1.0.0
owner: users@example.com
retention: delete
inputPorts:
  - name: registrations
    source: {{postgres: "{url}", table: {table}, mode: cdc}}
    window: incremental
transformation: {{sql: transform.sql}}
outputPorts:
  - name: changes
    mode: append
    properties:
      - {{name: id, logicalType: integer}}
      - {{name: name, logicalType: string}}
      - {{name: score, logicalType: decimal, precision: 8, scale: 2}}
      - {{name: born, logicalType: date}}
      - {{name: op, logicalType: string, required: true}}
      - {{name: lsn, logicalType: string}}
      - {{name: committed_at, logicalType: timestamp}}
"""
SQL = "select id, name, score, born, _op as op, _lsn as lsn, _committed_at as committed_at from registrations"


@pytest.fixture
def database() -> Iterator[str]:
    name = f"hexmesh_cdc_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create table users (id bigint primary key, name text, score numeric(8, 2), born date)")
    yield url
    with psycopg.connect(ADMIN, autocommit=True) as conn:  # slots keep WAL: never leave one behind
        conn.execute(
            "select pg_drop_replication_slot(slot_name) from pg_replication_slots where database = %s", (name,)
        )
        conn.execute(f'drop database "{name}" with (force)')


@pytest.fixture
def name() -> str:
    """A product name of its own: slot names are global to the server, which parallel test runs share."""
    return f"p{uuid.uuid4().hex[:10]}"


def product(make: ProductFactory, name: str, url: str, table: str = "users") -> Path:
    return make(name, SPEC.format(name=name, url=url, table=table), {"transform.sql": SQL})


def execute(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def changes(workspace: Workspace, name: str) -> list[tuple[object, ...]]:
    table = workspace.read(f"dp://cdc/{name}/changes")
    return sorted((r["op"], r["id"], r["name"]) for r in table.to_pylist())


def confirmed(url: str, slot: str) -> str | None:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "select confirmed_flush_lsn::text from pg_replication_slots where slot_name = %s", (slot,)
        ).fetchone()
    return None if row is None else str(row[0])


def test_a_snapshot_then_inserts_updates_and_deletes_each_once_across_restarts(
    workspace: Workspace, make_product: ProductFactory, database: str, name: str
) -> None:
    execute(database, "insert into users values (1, 'ann', 1.5, '1990-01-02'), (2, 'bob', null, null)")
    workspace.deploy([product(make_product, name, database)])
    assert workspace.run(f"cdc/{name}").rows == {"changes": 2}
    assert changes(workspace, name) == [("snapshot", 1, "ann"), ("snapshot", 2, "bob")]
    execute(
        database,
        "insert into users values (3, 'cy', 2.25, '2001-03-04')",
        "update users set name = 'anne' where id = 1",
        "delete from users where id = 2",
    )
    result = workspace.run(f"cdc/{name}")
    assert result.rows == {"changes": 3}
    rows = workspace.read(f"dp://cdc/{name}/changes").to_pylist()
    fresh = sorted((r for r in rows if r["op"] != "snapshot"), key=lambda r: r["lsn"])
    assert [(r["op"], r["id"], r["name"]) for r in fresh] == [
        ("insert", 3, "cy"),
        ("update", 1, "anne"),
        ("delete", 2, None),  # a delete carries the key (replica identity default)
    ]
    assert str(fresh[0]["score"]) == "2.25" and fresh[0]["born"].isoformat() == "2001-03-04"
    assert all(r["committed_at"] is not None and r["lsn"] for r in fresh)
    assert workspace.run(f"cdc/{name}").status == "skipped"
    restarted = Workspace(workspace.settings)  # a new process: the position comes from the state store
    try:
        assert restarted.run(f"cdc/{name}").status == "skipped"
    finally:
        restarted.close()
    (run,) = workspace.runtime.state.runs(f"cdc/{name}", limit=1, status="succeeded")
    position = run.details["inputs"]["registrations"]
    slot = slot_name(f"cdc/{name}", 1, "registrations")
    assert position["slot"] == slot
    assert confirmed(database, slot) is not None  # advanced after the publication
    assert len(workspace.read(f"dp://cdc/{name}/changes")) == 5


def test_a_crash_between_publication_and_advancing_the_slot_reads_nothing_twice(
    workspace: Workspace, make_product: ProductFactory, database: str, name: str
) -> None:
    execute(database, "insert into users values (1, 'ann', null, null)")
    workspace.deploy([product(make_product, name, database)])
    workspace.run(f"cdc/{name}")
    slot = slot_name(f"cdc/{name}", 1, "registrations")
    keep = f"{slot[:50]}_before"
    execute(database, "insert into users values (2, 'bob', null, null)")
    execute(database, f"select pg_copy_logical_replication_slot('{slot}', '{keep}')")
    assert workspace.run(f"cdc/{name}").rows == {"changes": 1}
    # Put the slot back where it was before that run: as if the process died right after publishing.
    execute(
        database,
        f"select pg_drop_replication_slot('{slot}')",
        f"select pg_copy_logical_replication_slot('{keep}', '{slot}')",
        f"select pg_drop_replication_slot('{keep}')",
    )
    restarted = Workspace(workspace.settings)
    try:
        assert restarted.run(f"cdc/{name}").status == "skipped"  # bob was published: not again
        execute(database, "insert into users values (3, 'cy', null, null)")
        assert restarted.run(f"cdc/{name}").rows == {"changes": 1}
    finally:
        restarted.close()
    assert changes(workspace, name) == [("insert", 2, "bob"), ("insert", 3, "cy"), ("snapshot", 1, "ann")]


def test_a_dropped_slot_is_a_clear_error_that_loses_nothing_already_read(
    workspace: Workspace, make_product: ProductFactory, database: str, name: str
) -> None:
    execute(database, "insert into users values (1, 'ann', null, null)")
    workspace.deploy([product(make_product, name, database)])
    workspace.run(f"cdc/{name}")
    slot = slot_name(f"cdc/{name}", 1, "registrations")
    execute(database, f"select pg_drop_replication_slot('{slot}')")
    with pytest.raises(InputError, match=rf"replication slot '{slot}' is gone .*pg_create_logical_replication_slot"):
        workspace.run(f"cdc/{name}")
    assert changes(workspace, name) == [("snapshot", 1, "ann")]
    execute(database, f"select pg_create_logical_replication_slot('{slot}', 'pgoutput')")  # accept the gap
    execute(database, "insert into users values (2, 'bob', null, null)")
    assert workspace.run(f"cdc/{name}").rows == {"changes": 1}


def test_a_missing_table_and_a_database_that_is_down_are_clear_errors(
    workspace: Workspace, make_product: ProductFactory, database: str, name: str
) -> None:
    workspace.deploy([product(make_product, name, database, table="nothing_here")])
    with pytest.raises(InputError, match="no such table"):
        workspace.run(f"cdc/{name}")
    other = f"q{name}"
    workspace.deploy([product(make_product, other, "postgresql://reader:s3cret@127.0.0.1:1/users")])
    says = r"reading changes of PostgreSQL postgresql://reader@127.0.0.1:1/users"
    with pytest.raises(InputError, match=says) as caught:
        workspace.run(f"cdc/{other}")
    assert "s3cret" not in str(caught.value) and "slot did not move" in str(caught.value)


def test_a_database_lost_in_the_middle_of_a_read_moves_nothing(
    workspace: Workspace, make_product: ProductFactory, database: str, name: str
) -> None:
    execute(database, "insert into users values (1, 'ann', null, null)")
    workspace.deploy([product(make_product, name, database)])
    # A transaction left open elsewhere makes creating the slot wait: the read is in progress.
    holder = psycopg.connect(database)
    holder.execute("insert into users values (2, 'bob', null, null)")
    try:
        with (
            terminating(database, "%pg_create_logical_replication_slot%") as killed,
            pytest.raises(InputError, match="nothing was consumed and the slot did not move"),
        ):
            workspace.run(f"cdc/{name}")
    finally:
        holder.commit()
        holder.close()
    assert killed.is_set()
    assert workspace.read(f"dp://cdc/{name}/changes").num_rows == 0
    assert workspace.run(f"cdc/{name}").rows == {"changes": 2}  # nothing was lost
    assert changes(workspace, name) == [("snapshot", 1, "ann"), ("snapshot", 2, "bob")]


def test_retiring_the_major_drops_its_slot_and_publication(
    workspace: Workspace, make_product: ProductFactory, database: str, name: str
) -> None:
    execute(database, "insert into users values (1, 'ann', null, null)")
    workspace.deploy([product(make_product, name, database)])
    workspace.run(f"cdc/{name}")
    slot = slot_name(f"cdc/{name}", 1, "registrations")
    assert confirmed(database, slot) is not None
    done = CliRunner().invoke(app, ["retire", f"cdc/{name}@1", "--home", str(workspace.settings.home)])
    assert done.exit_code == 0, done.output
    assert f"dropped replication slot and publication {slot}" in done.output
    assert workspace.lifecycle_state(f"cdc/{name}", 1).status == "retired"
    assert confirmed(database, slot) is None
    with psycopg.connect(database, autocommit=True) as conn:
        assert conn.execute("select count(*) from pg_publication where pubname = %s", (slot,)).fetchone() == (0,)


@pytest.mark.parametrize(
    ("source", "window", "says"),
    [
        ("{postgres: 'postgresql://h/db', table: users, mode: replicate}", "incremental", "be 'cursor' or 'cdc'"),
        ("{postgres: 'postgresql://h/db', query: 'select 1', mode: cdc}", "incremental", "a query cannot be"),
        ("{postgres: 'postgresql://h/db', table: users, mode: cdc}", "all", "declare window: incremental"),
        ("{postgres: 'postgresql://h/db', table: users, mode: cdc, cursor: id}", "incremental", "needs no cursor"),
        ("{postgres: 'postgresql://h/db', table: users, slot: mine}", "incremental", "'slot' names the replication"),
    ],
)
def test_cdc_specs_are_validated(source: str, window: str, says: str) -> None:
    text = SPEC.format(name="x", url="postgresql://h/db", table="users").replace(
        'source: {postgres: "postgresql://h/db", table: users, mode: cdc}\n    window: incremental',
        f"source: {source}\n    window: {window}",
    )
    assert source in text
    with pytest.raises(SpecError, match=says):
        parse_spec(text, "dataproduct.yaml")


def test_slot_names_are_deterministic_and_fit_postgres() -> None:
    assert slot_name("users/user-profiles", 2, "registrations") == "hexmesh_users_user_profiles_2_registrations"
    long = slot_name("a-very-long-domain-name/an-even-longer-product-name", 12, "a_port_with_a_long_name")
    again = slot_name("a-very-long-domain-name/an-even-longer-product-name", 12, "a_port_with_a_long_name")
    assert len(long) == 63 and long == again


def test_a_server_without_logical_replication_is_a_clear_error(
    workspace: Workspace, make_product: ProductFactory, name: str
) -> None:
    with cluster(wal_level="replica") as url:
        execute(
            url,
            "create table users (id bigint primary key, name text, score numeric(8, 2), born date)",
            "insert into users values (1, 'ann', null, null)",
        )
        workspace.deploy([product(make_product, name, url)])
        with pytest.raises(InputError, match="wal_level is 'replica'") as caught:
            workspace.run(f"cdc/{name}")
        assert "ALTER SYSTEM SET wal_level = logical" in str(caught.value) and "mode: cursor" in str(caught.value)
        with psycopg.connect(url) as conn:  # nothing was left on the server
            assert conn.execute("select count(*) from pg_replication_slots").fetchone() == (0,)
            assert conn.execute("select count(*) from pg_publication").fetchone() == (0,)
    assert workspace.status(f"cdc/{name}").ports[0].publications == []


def test_a_table_dropped_and_re_created_is_an_error_and_nothing_is_re_published(
    workspace: Workspace, make_product: ProductFactory, database: str, name: str
) -> None:
    execute(database, "insert into users values (1, 'ann', null, null)")
    workspace.deploy([product(make_product, name, database)])
    workspace.run(f"cdc/{name}")
    execute(
        database,
        "drop table users",
        "create table users (id bigint primary key, name text, score numeric(8, 2), born date)",
        "insert into users values (1, 'ann', null, null), (2, 'bob', null, null)",
    )
    with pytest.raises(InputError, match=r"table OID \d+ is now \d+.*swapped.*deploy a new major"):
        workspace.run(f"cdc/{name}")
    assert changes(workspace, name) == [("snapshot", 1, "ann")]
