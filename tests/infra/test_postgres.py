"""The same product life on PostgreSQL: Iceberg catalog and state store in a real database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from hexmesh.errors import WorkspaceError
from hexmesh.infra.settings import Settings
from hexmesh.infra.state import from_us
from hexmesh.lifecycle import Workspace
from hexmesh.product import ReadRequest
from tests.support import orders_csv

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

pytestmark = pytest.mark.postgres


@pytest.fixture
def database() -> Iterator[str]:
    name = f"hexmesh_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'drop database "{name}" with (force)')


def test_catalog_and_state_on_postgresql(database: str, tmp_path: Path, orders: Path) -> None:
    settings = replace(Settings.defaults(tmp_path / "ws"), state_url=database, catalog_url=database)
    workspace = Workspace(settings)
    try:
        workspace.deploy([orders])
        workspace.run("sales/orders")
        first = workspace.reader("dp://sales/orders/orders").publications()[0]
        (orders / "data" / "day2.csv").write_text(orders_csv(100, 2, day="2026-01-02"))
        workspace.run("sales/orders")
        assert workspace.read("dp://sales/orders/orders").num_rows == 7
        old = workspace.read("dp://sales/orders/orders", ReadRequest(as_of=from_us(first.published_us)))
        assert old.num_rows == 5
    finally:
        workspace.close()
    with psycopg.connect(database) as conn:
        tables = {row[0] for row in conn.execute("select tablename from pg_tables where schemaname = 'public'")}
        runs = conn.execute("select count(*) from runs where status = 'succeeded'").fetchone()
    assert {"iceberg_tables", "products", "runs", "publications"} <= tables
    assert runs == (2,)


def test_settings_come_from_the_workspace_file_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: str
) -> None:
    home = tmp_path / "ws"
    home.mkdir()
    (home / "settings.yaml").write_text(f"catalog_url: {database}\n")
    monkeypatch.setenv("HEXMESH_STATE_URL", database)
    settings = Settings.load(home)
    assert (settings.catalog_url, settings.state_url) == (database, database)
    (home / "settings.yaml").write_text("catalog_uri: nope\n")
    with pytest.raises(WorkspaceError, match="unknown setting"):
        Settings.load(home)
