"""``database:`` sources: SQLite files (the embedded default) and PostgreSQL, picked by the URL's scheme."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from hexmesh.errors import InputError, SpecError
from hexmesh.lifecycle import Workspace
from hexmesh.product.sources import expand_vars
from tests.support import ProductFactory

SPEC = """
domain: users
name: profiles
version: 1.0.0
owner: users@example.com
inputPorts:
  - name: registrations
    source: {{database: "{url}", {relation}, cursor: {cursor}}}
    window: {window}
transformation: {{sql: transform.sql}}
outputPorts:
  - name: profiles
    mode: {mode}
    eventTime: updated_at
    properties:
      - {{name: id, logicalType: integer, required: true}}
      - {{name: name, logicalType: string}}
      - {{name: score, logicalType: number}}
      - {{name: active, logicalType: boolean}}
      - {{name: born, logicalType: date}}
      - {{name: updated_at, logicalType: timestamp}}
"""

SQL = "select id, name, score, active, born, updated_at from registrations"


@pytest.fixture
def database(workspace: Workspace) -> Path:
    """A SQLite file under the node's default source root, ``<home>/landing``."""
    file = workspace.settings.home / "landing" / "service" / "users.db"
    file.parent.mkdir(parents=True)
    with closing(sqlite3.connect(file)) as conn, conn:
        conn.execute(
            "create table users (id integer primary key autoincrement, name text, score real, active boolean, "
            "born date, updated_at timestamptz not null)"
        )
    return file


def insert(file: Path, count: int, start: int = 0) -> None:
    with closing(sqlite3.connect(file)) as conn, conn:
        for n in range(start, start + count):
            conn.execute(
                "insert into users (name, score, active, born, updated_at) values (?, ?, ?, ?, ?)",
                (f"user {n}" if n % 3 else "", n + 0.25, n % 2 == 0, "1990-01-02", f"2026-11-2{n % 10}T10:00:00Z"),
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


def test_a_sqlite_table_is_read_incrementally_by_its_cursor_with_its_declared_types(
    workspace: Workspace, make_product: ProductFactory, database: Path
) -> None:
    insert(database, 3)
    workspace.deploy([product(make_product, f"sqlite:///{database}")])
    assert workspace.run("users/profiles").rows == {"profiles": 3}
    insert(database, 2, start=3)
    assert workspace.run("users/profiles").rows == {"profiles": 2}
    assert workspace.run("users/profiles").status == "skipped"  # nothing new: the position held
    rows = sorted(workspace.read("dp://users/profiles/profiles").to_pylist(), key=lambda r: r["id"])
    assert [r["id"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["name"] == "" and rows[1]["name"] == "user 1"  # empty text is not null
    assert rows[1]["score"] == 1.25 and rows[0]["active"] is True and rows[1]["active"] is False
    assert rows[0]["born"].isoformat() == "1990-01-02"
    assert rows[2]["updated_at"].isoformat().startswith("2026-11-22T10:00:00")
    (run,) = workspace.runtime.state.runs("users/profiles", limit=1, status="succeeded")
    assert run.details["inputs"]["registrations"]["cursor"] == 5


def test_a_relative_sqlite_path_is_relative_to_the_product_and_a_query_can_be_read(
    workspace: Workspace, make_product: ProductFactory, database: Path
) -> None:
    insert(database, 4)
    folder = product(make_product, "sqlite:///users.db", relation='query: "select * from users where active"')
    (folder / "users.db").write_bytes(database.read_bytes())
    workspace.deploy([folder])
    assert workspace.run("users/profiles").rows == {"profiles": 2}


def test_the_url_may_default_to_sqlite_and_switch_to_a_variable(
    workspace: Workspace, make_product: ProductFactory, database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    insert(database, 2)
    monkeypatch.setenv("USERS_HOME", str(database.parent))
    monkeypatch.delenv("USERS_DB", raising=False)
    workspace.deploy([product(make_product, "${USERS_DB:-sqlite:///${USERS_HOME}/users.db}")])
    assert workspace.run("users/profiles").rows == {"profiles": 2}
    monkeypatch.setenv("USERS_DB", f"sqlite:///{database.parent}/other.db")
    with pytest.raises(InputError, match=r"SQLite database .*other.db does not exist; create it"):
        workspace.run("users/profiles")


def test_a_missing_sqlite_file_is_a_clear_error_that_moves_no_position(
    workspace: Workspace, make_product: ProductFactory
) -> None:
    landing = workspace.settings.home / "landing"
    workspace.deploy([product(make_product, f"sqlite:///{landing}/absent.db")])
    with pytest.raises(InputError, match=r"absent.db does not exist; create it .*next run tries again"):
        workspace.run("users/profiles")
    assert not (landing / "absent.db").exists()  # reading never creates the file


def test_a_sqlite_file_outside_the_product_and_the_source_roots_is_refused(
    workspace: Workspace, make_product: ProductFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "elsewhere.db"
    with closing(sqlite3.connect(outside)) as conn, conn:
        conn.execute("create table users (id integer primary key, secret text)")
    with pytest.raises(SpecError, match=r"dataproduct.yaml:\d+:\d+: .*SQLite file .* is an absolute path outside"):
        workspace.deploy([product(make_product, f"sqlite:///{outside}")])
    # Through a variable it is only known at run time: the run fails without reading it.
    monkeypatch.setenv("USERS_DB", f"sqlite:///{outside}")
    workspace.deploy([product(make_product, "${USERS_DB}")])
    with pytest.raises(InputError, match=r"SQLite file .*elsewhere.db' is an absolute path outside .*nothing was read"):
        workspace.run("users/profiles")
    home = workspace.settings.home
    monkeypatch.setenv("USERS_DB", f"sqlite:///{home}/state.db")  # the node's own records are never a source
    with pytest.raises(InputError, match=r"SQLite file .*state.db' is an absolute path outside"):
        workspace.run("users/profiles")


def test_a_missing_table_is_a_clear_error(workspace: Workspace, make_product: ProductFactory, database: Path) -> None:
    workspace.deploy([product(make_product, f"sqlite:///{database}", relation="table: members")])
    with pytest.raises(InputError, match=r"reading SQLite .*\(members\) failed: .*no such table: members"):
        workspace.run("users/profiles")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root:pw@db/users", r"has no scheme hexmesh reads; write postgresql://.* or sqlite:///"),
        ("users.db", r"has no scheme hexmesh reads"),
    ],
)
def test_a_url_of_an_unknown_database_is_refused_at_validation(
    workspace: Workspace, make_product: ProductFactory, url: str, message: str
) -> None:
    with pytest.raises(SpecError, match=message) as caught:
        workspace.deploy([product(make_product, url)])
    assert "pw@" not in str(caught.value)


def test_an_incremental_database_source_needs_a_cursor(workspace: Workspace, make_product: ProductFactory) -> None:
    spec = SPEC.replace(", cursor: {cursor}", "").format(
        url="sqlite:///x.db", relation="table: users", window="incremental", mode="append"
    )
    with pytest.raises(SpecError, match=r"an incremental database source needs a cursor column"):
        workspace.deploy([make_product("profiles", spec, {"transform.sql": SQL})])


def test_a_default_may_use_a_variable_and_a_value_is_never_expanded_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME_DIR", "/srv/home")
    monkeypatch.setenv("LITERAL", "${HOME_DIR}")
    monkeypatch.delenv("UNSET_DB", raising=False)
    assert expand_vars("${UNSET_DB:-sqlite:///${HOME_DIR}/r.db}") == "sqlite:////srv/home/r.db"
    assert expand_vars("${LITERAL}/x") == "${HOME_DIR}/x"
    assert expand_vars("a ${UNSET_DB:-} b") == "a  b"
    assert expand_vars("${HOME_DIR:-${UNSET_DB}}") == "/srv/home"  # a default is only expanded when used
    with pytest.raises(InputError, match=r"uses \$\{UNSET_DB\}, which is not set"):
        expand_vars("${UNSET_DB:-${UNSET_DB}}")
    with pytest.raises(InputError, match=r"without its closing brace"):
        expand_vars("${UNSET_DB:-sqlite:///x")
