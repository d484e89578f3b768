"""Bundles by digest: a node that did not deploy a version runs it from the shared object storage."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from hexmesh.errors import WorkspaceError
from hexmesh.infra.settings import Settings
from hexmesh.infra.state import schema as t
from hexmesh.lifecycle import Workspace


@pytest.fixture
def node_b(workspace: Workspace, tmp_path: Path) -> Iterator[Workspace]:
    """A node with its own home on node A's state store, catalog, warehouse and object storage."""
    shared = workspace.settings
    values = {k: getattr(shared, k) for k in ("state_url", "catalog_url", "warehouse", "storage")}
    other = Workspace(Settings.defaults(tmp_path / "node-b").merged(values))
    yield other
    other.close()


def stored_bundle(workspace: Workspace) -> str:
    with workspace.runtime.state.db.connect() as conn:
        return str(conn.execute(select(t.versions.c.bundle)).scalar())


def test_a_node_that_did_not_deploy_a_version_runs_it(workspace: Workspace, orders: Path, node_b: Workspace) -> None:
    workspace.deploy([orders])
    recorded = stored_bundle(workspace)
    assert recorded.startswith("sha256:") and str(workspace.settings.home) not in recorded  # no node's path
    result = node_b.run("sales/orders")
    assert result.status == "succeeded" and result.rows == {"orders": 5}
    fetched = node_b.settings.bundles / "sales" / "orders" / "1.0.0"
    assert (fetched / "transform.sql").read_text() == (orders / "transform.sql").read_text()
    assert workspace.read("dp://sales/orders/orders").num_rows == 5  # node A serves what node B published


def test_a_bundle_changed_in_object_storage_is_refused(workspace: Workspace, orders: Path, node_b: Workspace) -> None:
    workspace.deploy([orders])
    digest = stored_bundle(workspace).removeprefix("sha256:")
    stored = workspace.settings.home / "bundle-store" / "sha256" / digest / "transform.sql"
    stored.write_text("select 1 as order_id")  # someone edits the shared copy
    with pytest.raises(WorkspaceError, match=r"bundle of sales/orders 1.0.0 is not on this node .*Nothing was run"):
        node_b.run("sales/orders")
    assert not (node_b.settings.bundles / "sales" / "orders" / "1.0.0").exists()
    assert node_b.runtime.state.runs("sales/orders") == []


def test_a_bundle_missing_from_object_storage_fails_the_run_saying_what_to_check(
    workspace: Workspace, orders: Path, node_b: Workspace
) -> None:
    workspace.deploy([orders])
    shutil.rmtree(workspace.settings.home / "bundle-store")
    with pytest.raises(WorkspaceError, match=r"not be fetched from object storage.*\(HEXMESH_STORAGE"):
        node_b.run("sales/orders")
    assert workspace.run("sales/orders").status == "succeeded"  # the deploying node still has its copy
