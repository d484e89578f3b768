"""A port whose product's last run failed is not "met": its observability says so (without rows)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hexmesh.errors import QualityGateError
from hexmesh.lifecycle import Workspace, init_product
from hexmesh.product.observability import port_health


def test_a_failed_last_run_turns_the_port_red_and_a_good_run_clears_it(workspace: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    init_product(folder, domain="sales", name="shop", owner="data-team@example.com")
    workspace.deploy([folder])
    workspace.run("sales/shop")
    reader = workspace.reader("dp://sales/shop/orders")
    assert all(c.name != "last-run" for c in port_health(reader).checks)

    bad = folder / "data" / "orders-2026-01-02.csv"
    bad.write_text("order_id,customer_id,ordered_at,status,amount\n9,109,2026-01-02T09:00:00,secret-status,1.00\n")
    with pytest.raises(QualityGateError):
        workspace.run("sales/shop")
    health = port_health(reader)
    (failed,) = [c for c in health.checks if c.name == "last-run"]
    assert health.status == "red" and failed.status == "red"
    assert "failed at" in failed.detail and "hexmesh status sales/shop" in failed.detail
    assert "secret-status" not in failed.detail  # the error's example rows stay out

    bad.unlink()
    (folder / "data" / "orders-2026-01-03.csv").write_text(
        "order_id,customer_id,ordered_at,status,amount\n10,110,2026-01-03T09:00:00,placed,2.00\n"
    )
    workspace.run("sales/shop")
    assert all(c.name != "last-run" for c in port_health(reader).checks)
