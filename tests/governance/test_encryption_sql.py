"""The SQL port over a sealed port: nullable as served, opened only when named, kept opened until a forget.

A real SQL port (pgwire on port 0) over a real workspace, read with psql and psycopg.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pytest

from hexmesh.infra.keys import generate_master_key
from hexmesh.infra.settings import Settings
from hexmesh.infra.state import from_us, now_us
from hexmesh.lifecycle import Workspace
from hexmesh.pgwire import PgServer
from hexmesh.product.policy.opened import OpenedTables
from hexmesh.product.sealing import key_store
from hexmesh.product.sql import PolicyDecision, QueryPolicy, QueryRequest, SqlPort, SqlPortConfig, TableRewrite
from tests.governance.test_encryption_ports import EMAILS, SPEC, SQL, _csv, _write
from tests.product.sql.conftest import Loop

TABLE = "people.profiles__profiles"


@dataclass
class Served:
    workspace: Workspace
    port: SqlPort
    server: PgServer
    loop: Loop

    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.server.port} user=analyst dbname=mesh sslmode=disable"

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            return conn.execute(sql).fetchall()


def _serve(home: Path, loop: Loop, policy: QueryPolicy | None = None) -> Served:
    workspace = Workspace(Settings.load(home))
    port = SqlPort(workspace.runtime, policy=policy)
    server = port.server("127.0.0.1", 0)
    loop.run(server.start())
    return Served(workspace, port, server, loop)


def _stop(served: Served) -> None:
    served.loop.run(served.server.close())
    served.workspace.close()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace where people/profiles (email restricted and required) published u1..u3."""
    monkeypatch.delenv("HEXMESH_MASTER_KEY", raising=False)  # the workspace's own key file
    folder = _write(tmp_path / "profiles", SPEC, SQL, {"day1.csv": _csv([1, 2, 3], "2026-01-01")})
    with Workspace(Settings.load(tmp_path / "home")) as workspace:
        workspace.deploy([folder])
        workspace.run("people/profiles")
    return tmp_path / "home"


@pytest.fixture
def served(home: Path) -> Iterator[Served]:
    loop = Loop()
    running = _serve(home, loop)
    yield running
    _stop(running)
    loop.stop()


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")
def test_psql_describes_a_required_restricted_field_as_nullable(served: Served) -> None:
    done = subprocess.run(
        ["psql", served.dsn(), "-X", "-v", "ON_ERROR_STOP=1", "-c", rf"\d {TABLE}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    cells = [[c.strip() for c in line.split("|")] for line in done.stdout.splitlines()]
    rows = {row[0]: row for row in cells if len(row) > 3}
    assert rows["user_id"][3] == "not null"
    assert rows["email"][3] == ""  # a forgotten subject's address reads as null: never promise NOT NULL
    nullable = served.rows(
        "select column_name, is_nullable from information_schema.columns "
        "where table_schema = 'people' and table_name = 'profiles__profiles'"
    )
    assert dict(nullable)["email"] == "YES" and dict(nullable)["user_id"] == "NO"


def test_the_addresses_read_as_plaintext_and_a_forget_takes_effect_on_the_next_statement(served: Served) -> None:
    query = f"select user_id, email from {TABLE} order by user_id"
    expected = [(u, EMAILS[u]) for u in ("u1", "u2", "u3")]
    assert served.rows(query) == expected
    assert served.rows(query) == expected  # again, from the opened table kept for this snapshot
    assert key_store(served.workspace.runtime).store.forget("u2")
    assert served.rows(query) == [("u1", EMAILS["u1"]), ("u2", None), ("u3", EMAILS["u3"])]
    assert served.rows(f"select count(*) from {TABLE} where email is null") == [(1,)]


def test_a_statement_that_never_names_the_restricted_field_does_not_open_it(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEXMESH_MASTER_KEY", generate_master_key())  # no sealed value can open now
    loop = Loop()
    served = _serve(home, loop)
    try:
        assert served.rows(f"select user_id, country from {TABLE} order by 1") == [
            ("u1", "C1"),
            ("u2", "C2"),
            ("u3", "C3"),
        ]
        assert served.rows(f"select count(*) from {TABLE}") == [(3,)]
        # Those statements are DuckDB's own scan of the files; only opening needs rows in Python.
        assert "READ_PARQUET" in repr(served.rows(f"explain select user_id, country from {TABLE}"))
        with pytest.raises(psycopg.Error, match="master key is not the one"):
            served.rows(f"select upper(email) from {TABLE}")
        with pytest.raises(psycopg.Error, match="master key is not the one"):
            served.rows(f"select * from {TABLE}")  # a star shows every column
    finally:
        _stop(served)
        loop.stop()


class _MailOneOnly:
    """A policy whose row filter and mask read the restricted field, though the statement never names it."""

    def decide(self, request: QueryRequest) -> PolicyDecision:
        rewrite = TableRewrite(row_filter="email like '%@mail1.example'", transform={"country": "left(email, 7)"})
        return PolicyDecision(rewrites={TABLE: rewrite})


def test_a_policy_filter_or_mask_on_the_restricted_field_sees_the_opened_values(home: Path) -> None:
    loop = Loop()
    served = _serve(home, loop, _MailOneOnly())
    try:
        assert served.rows(f"select user_id, country from {TABLE}") == [("u1", "person1")]
    finally:
        _stop(served)
        loop.stop()


def _opened(workspace: Workspace, cache: OpenedTables) -> pa.ChunkedArray:
    """The opened email column a statement of the SQL port gets."""
    port = SqlPort(workspace.runtime)
    (table,) = [t for t in port.catalog.tables() if t.qualified == TABLE]
    snapshot = port.snapshots.snapshot_id(table, _now())
    stored = port.snapshots.dataset(table, snapshot)
    source = cache.source(table.port, tuple(table.record.table_id), snapshot, stored, {"email"})
    assert isinstance(source, pa.Table)
    return source.column("email")


def _memory(column: pa.ChunkedArray) -> int:
    """Where the column's values are: the same memory means they were not opened again."""
    return int(column.chunk(0).buffers()[-1].address)


def _now() -> datetime:
    return from_us(now_us())


def test_an_opened_snapshot_is_kept_within_its_memory_bound_and_dropped_by_a_forget(home: Path) -> None:
    with Workspace(Settings.load(home)) as workspace:
        kept = OpenedTables(workspace.runtime, max_bytes=64 * 1024 * 1024)
        first = _opened(workspace, kept)
        assert first.to_pylist() == [EMAILS["u1"], EMAILS["u2"], EMAILS["u3"]]
        assert _memory(_opened(workspace, kept)) == _memory(first)  # not opened again
        unbounded = OpenedTables(workspace.runtime, max_bytes=0)  # nothing fits: opened per statement
        one, two = _opened(workspace, unbounded), _opened(workspace, unbounded)
        assert _memory(one) != _memory(two) and one.equals(two)
        assert key_store(workspace.runtime).store.forget("u3")
        assert _opened(workspace, kept).to_pylist() == [EMAILS["u1"], EMAILS["u2"], None]


def test_the_bound_is_a_setting_of_the_port(home: Path) -> None:
    with Workspace(Settings.load(home)) as workspace:
        port = SqlPort(workspace.runtime, replace(SqlPortConfig(), opened_cache_bytes=0))
        assert port.opened.max_bytes == 0
