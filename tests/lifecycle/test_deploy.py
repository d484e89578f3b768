"""Deploy: registers a version and creates its tables; twice changes nothing; versions are immutable."""

from __future__ import annotations

from pathlib import Path

import pytest

from hexmesh.errors import DeployError
from hexmesh.lifecycle import Workspace
from hexmesh.product import ReadRequest


def test_deploy_creates_one_table_per_output_port_and_is_idempotent(workspace: Workspace, orders: Path) -> None:
    (first,) = workspace.deploy([orders])
    assert first.changed
    tables = workspace.runtime.tables
    assert tables.exists(("sales", "orders", "v1", "orders"))
    snapshots_before = len(tables.snapshots(("sales", "orders", "v1", "orders")))
    (again,) = workspace.deploy([orders])
    assert not again.changed
    assert len(workspace.runtime.state.versions("sales/orders")) == 1
    assert len(tables.snapshots(("sales", "orders", "v1", "orders"))) == snapshots_before


def test_a_deployed_version_cannot_change(workspace: Workspace, orders: Path) -> None:
    workspace.deploy([orders])
    sql = orders / "transform.sql"
    sql.write_text(sql.read_text() + "where amount > 0\n")
    with pytest.raises(DeployError, match=r"already deployed with different content.*1\.0\.1"):
        workspace.deploy([orders])


def test_an_older_version_is_refused(workspace: Workspace, orders: Path) -> None:
    spec = orders / "dataproduct.yaml"
    spec.write_text(spec.read_text().replace("version: 1.0.0", "version: 1.2.0"))
    workspace.deploy([orders])
    spec.write_text(spec.read_text().replace("version: 1.2.0", "version: 1.1.0"))
    with pytest.raises(DeployError, match="older than the deployed 1.2.0"):
        workspace.deploy([orders])


def test_a_minor_version_adds_an_optional_field_and_old_snapshots_still_read(
    workspace: Workspace, orders: Path
) -> None:
    workspace.deploy([orders])
    workspace.run("sales/orders")
    before = workspace.read("dp://sales/orders/orders")
    spec = orders / "dataproduct.yaml"
    spec.write_text(
        spec.read_text()
        .replace("version: 1.0.0", "version: 1.1.0")
        .replace(
            "      - {name: amount, logicalType: number}",
            "      - {name: amount, logicalType: number}\n      - {name: note, logicalType: string}",
        )
    )
    (orders / "transform.sql").write_text(
        "select order_id, customer, cast(ordered_at as timestamp) as ordered_at, amount, 'n' as note from raw\n"
    )
    (outcome,) = workspace.deploy([orders])
    assert outcome.changed and outcome.version == "1.1.0"
    assert workspace.read("dp://sales/orders/orders", ReadRequest(columns=("order_id", "amount"))).num_rows == 5
    assert before.num_rows == 5
