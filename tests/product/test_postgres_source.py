"""PostgreSQL sources on the real server: incremental by cursor, durable positions, outages."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from hexmesh.errors import InputError
from hexmesh.lifecycle import Workspace
from tests.product.killer import terminating
from tests.support import ProductFactory

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

pytestmark = pytest.mark.postgres

SPEC = """
domain: users
name: profiles
version: 1.0.0
owner: users@example.com
inputPorts:
  - name: registrations
    source: {{postgres: "{url}", {relation}, cursor: {cursor}}}
    window: {window}
transformation: {{sql: transform.sql}}
outputPorts:
  - name: profiles
    mode: {mode}
    eventTime: updated_at
    properties:
      - {{name: id, logicalType: integer, required: true}}
      - {{name: name, logicalType: string}}
      - {{name: score, logicalType: decimal, precision: 8, scale: 2}}
      - {{name: active, logicalType: boolean}}
      - {{name: born, logicalType: date}}
      - {{name: updated_at, logicalType: timestamp}}
"""

SQL = "select id, name, score, active, born, updated_at from registrations"


@pytest.fixture
def database() -> Iterator[str]:
    name = f"hexmesh_src_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "create table users (id bigserial primary key, name text, score numeric(8, 2), active boolean, "
            "born date, updated_at timestamptz not null default now())"
        )
    yield url
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'drop database "{name}" with (force)')


def insert(url: str, count: int, start: int = 0) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for n in range(start, start + count):
            conn.execute(
                "insert into users (name, score, active, born) values (%s, %s, %s, %s)",
                (f"user {n}" if n % 3 else "", n + 0.25, n % 2 == 0, "1990-01-02"),
            )


def product(
    make: ProductFactory,
    url: str,
    *,
    relation: str = "table: users",
    cursor: str = "id",
    window: str = "incremental",
    mode: str = "append",
) -> Path:
    spec = SPEC.format(url=url, relation=relation, cursor=cursor, window=window, mode=mode)
    return make("profiles", spec, {"transform.sql": SQL})


def test_a_table_is_read_incrementally_by_its_cursor_across_restarts(
    workspace: Workspace, make_product: ProductFactory, database: str
) -> None:
    insert(database, 3)
    workspace.deploy([product(make_product, database)])
    assert workspace.run("users/profiles").rows == {"profiles": 3}
    insert(database, 2, start=3)
    assert workspace.run("users/profiles").rows == {"profiles": 2}
    restarted = Workspace(workspace.settings)  # a new process: the position comes from the state store
    try:
        assert restarted.run("users/profiles").status == "skipped"
    finally:
        restarted.close()
    rows = sorted(workspace.read("dp://users/profiles/profiles").to_pylist(), key=lambda r: r["id"])
    assert [r["id"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["name"] == "" and rows[1]["name"] == "user 1"  # empty text is not null
    assert str(rows[1]["score"]) == "1.25" and rows[0]["active"] is True
    assert rows[0]["born"].isoformat() == "1990-01-02" and rows[0]["updated_at"].tzinfo is not None
    (run,) = workspace.runtime.state.runs("users/profiles", limit=1, status="succeeded")
    assert run.details["inputs"]["registrations"]["cursor"] == "5"


def test_a_query_with_a_timestamp_cursor(workspace: Workspace, make_product: ProductFactory, database: str) -> None:
    insert(database, 2)
    relation = 'query: "select * from users where active"'
    workspace.deploy([product(make_product, database, relation=relation, cursor="updated_at")])
    assert workspace.run("users/profiles").rows == {"profiles": 1}
    insert(database, 2, start=2)
    assert workspace.run("users/profiles").rows == {"profiles": 1}


def test_window_all_reads_the_whole_table_each_run(
    workspace: Workspace, make_product: ProductFactory, database: str
) -> None:
    insert(database, 2)
    workspace.deploy([product(make_product, database, window="all", mode="replace")])
    workspace.run("users/profiles")
    insert(database, 1, start=2)
    assert workspace.run("users/profiles").rows == {"profiles": 3}


def test_a_database_that_is_down_is_a_clear_input_error(workspace: Workspace, make_product: ProductFactory) -> None:
    url = "postgresql://reader:s3cret@127.0.0.1:1/users"
    workspace.deploy([product(make_product, url)])
    with pytest.raises(
        InputError, match=r"reading PostgreSQL postgresql://reader@127.0.0.1:1/users .*position did not move"
    ) as caught:
        workspace.run("users/profiles")
    assert "s3cret" not in str(caught.value)


def test_a_database_lost_in_the_middle_of_a_read_moves_no_position(
    workspace: Workspace, make_product: ProductFactory, database: str
) -> None:
    insert(database, 2)
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("create view slow_users as select u.* from users u, lateral (select pg_sleep(30)) s")
    workspace.deploy([product(make_product, database, relation="table: slow_users")])
    with (
        terminating(database, "%slow_users%", within=60) as killed,
        pytest.raises(InputError, match="nothing was consumed and the position did not move"),
    ):
        workspace.run("users/profiles")
    assert killed.is_set()
    assert workspace.read("dp://users/profiles/profiles").num_rows == 0
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("create or replace view slow_users as select u.* from users u")
    assert workspace.run("users/profiles").rows == {"profiles": 2}  # nothing was lost


def published_ids(workspace: Workspace) -> list[int]:
    return sorted(workspace.read("dp://users/profiles/profiles").column("id").to_pylist())


def test_a_source_that_shrank_is_an_error_and_nothing_is_re_published(
    workspace: Workspace, make_product: ProductFactory, database: str
) -> None:
    insert(database, 5)
    workspace.deploy([product(make_product, database)])
    workspace.run("users/profiles")
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("delete from users where id > 2")
    with pytest.raises(InputError, match=r"shrank: its highest id is 2, but the last run read up to id = 5") as err:
        workspace.run("users/profiles")
    assert "--full-refresh" in str(err.value)
    insert(database, 4, start=5)  # ids 6..9: the maximum is past the position again
    assert workspace.run("users/profiles").rows == {"profiles": 4}
    assert published_ids(workspace) == [1, 2, 3, 4, 5, 6, 7, 8, 9]  # 1 and 2 were never published twice
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("delete from users")
    with pytest.raises(InputError, match="shrank: no rows at all"):
        workspace.run("users/profiles")


def test_another_database_behind_the_same_url_is_an_error_and_nothing_is_re_published(
    workspace: Workspace, make_product: ProductFactory, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The case: a run against a smaller database stored cursor 2060 where it was 10300.
    other = f"hexmesh_src_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'create database "{other}" template "{database.rsplit("/", 1)[1]}"')
    smaller = f"postgresql://postgres@127.0.0.1:5432/{other}"
    try:
        insert(smaller, 2)
        insert(database, 5)
        monkeypatch.setenv("HEXMESH_TEST_USERS_URL", database)
        workspace.deploy([product(make_product, "${HEXMESH_TEST_USERS_URL}")])
        workspace.run("users/profiles")
        monkeypatch.setenv("HEXMESH_TEST_USERS_URL", smaller)
        with pytest.raises(InputError, match=r"not the one the last position was read from \(database OID"):
            workspace.run("users/profiles")
        insert(smaller, 10, start=2)  # bigger than the position now: still another database
        with pytest.raises(InputError, match="swapped"):
            workspace.run("users/profiles")
        (run,) = workspace.runtime.state.runs("users/profiles", limit=1, status="succeeded")
        assert run.details["inputs"]["registrations"]["cursor"] == "5"  # the position did not move
        assert published_ids(workspace) == [1, 2, 3, 4, 5]
        monkeypatch.setenv("HEXMESH_TEST_USERS_URL", database)
        insert(database, 1, start=5)
        assert workspace.run("users/profiles").rows == {"profiles": 1}
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'drop database "{other}" with (force)')


def test_a_table_dropped_and_re_created_is_an_error(
    workspace: Workspace, make_product: ProductFactory, database: str
) -> None:
    insert(database, 3)
    workspace.deploy([product(make_product, database)])
    workspace.run("users/profiles")
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("create table users_new (like users including all)")
        conn.execute("insert into users_new select * from users")
        conn.execute("insert into users_new (id, name) values (10, 'new')")
        conn.execute("drop table users cascade")  # its sequence goes with it
        conn.execute("alter table users_new rename to users")
    with pytest.raises(InputError, match=r"table OID \d+ is now \d+"):
        workspace.run("users/profiles")
    result = workspace.run("users/profiles", full_refresh=True)  # the way out the error names
    assert result.rows == {"profiles": 4}
