"""The retention SLO: every snapshot a read within the promised window needs is still in the table."""

from __future__ import annotations

from pathlib import Path

from hexmesh.lifecycle import Workspace
from hexmesh.product.observability import port_health
from tests.support import orders_csv


def _with_retention(orders: Path) -> Path:
    spec = orders / "dataproduct.yaml"
    spec.write_text(spec.read_text().replace("    quality:\n", "    slo: {retention: 3y}\n    quality:\n", 1))
    return orders


def test_retention_holds_while_every_snapshot_is_readable(workspace: Workspace, orders: Path) -> None:
    workspace.deploy([_with_retention(orders)])
    workspace.run("sales/orders")
    (check,) = [c for c in port_health(workspace.reader("dp://sales/orders/orders")).checks if c.name == "retention"]
    assert check.status == "green"
    assert check.detail == "every snapshot of the last 3y is readable"


def test_an_expired_snapshot_breaks_retention(workspace: Workspace, orders: Path) -> None:
    workspace.deploy([_with_retention(orders)])
    workspace.run("sales/orders")
    (orders / "data" / "day2.csv").write_text(orders_csv(100, 3, day="2026-01-02"))
    workspace.run("sales/orders")
    reader = workspace.reader("dp://sales/orders/orders")
    first = reader.publications()[0].snapshot_id
    table = workspace.runtime.tables.load(reader.record.table_id)
    table.maintenance.expire_snapshots().by_id(first).commit()  # what a careless maintenance job does
    (check,) = [c for c in port_health(reader).checks if c.name == "retention"]
    assert check.status == "red"
    assert "1 snapshot(s) within the promised 3y can no longer be read" in check.detail
