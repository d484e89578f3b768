"""The quality gate: a failing check publishes nothing, keeps the candidate, and says why."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from hexmesh.errors import QualityGateError
from hexmesh.lifecycle import Workspace
from tests.support import ORDERS_SPEC, ORDERS_SQL, ProductFactory, orders_csv

CHECKS = {
    "notNull": ("- notNull: [customer]", "order_id,customer,ordered_at,amount\n1,,2026-01-01 01:00:00,1\n"),
    "unique": ("- unique: [customer]", orders_csv(1, 9)),
    "acceptedValues": ("- acceptedValues: {field: customer, values: [c1, c2]}", orders_csv(1, 3)),
    "range": ("- range: {field: amount, max: 5}", orders_csv(1, 3, amount=6)),
    "rowCount": ("- rowCount: {min: 10}", orders_csv(1, 3)),
    "freshness": ("- freshness: {maxAge: 1d}", orders_csv(1, 3)),
    "sql": ("- sql: select count(*) = 0 from orders where amount > 5", orders_csv(1, 3, amount=9)),
    "primaryKey": ("- rowCount: {min: 1}", orders_csv(1, 3) + "1,c1,2026-01-01 05:00:00,3\n"),
}


def product(make: ProductFactory, check: str, csv: str) -> Path:
    spec = ORDERS_SPEC.replace("      - range: {field: amount, min: 0}", "      " + check)
    return make("orders", spec, {"transform.sql": ORDERS_SQL, "data/a.csv": csv})


@pytest.mark.parametrize("kind", sorted(CHECKS))
def test_each_check_kind_blocks_publication(workspace: Workspace, make_product: ProductFactory, kind: str) -> None:
    check, csv = CHECKS[kind]
    workspace.deploy([product(make_product, check, csv)])
    with pytest.raises(QualityGateError, match="nothing was published") as caught:
        workspace.run("sales/orders")
    assert workspace.reader("dp://sales/orders/orders").publications() == []
    (run,) = workspace.runtime.state.runs("sales/orders")
    assert run.status == "failed"
    failing = [c for c in run.details["checks"] if not c["passed"]]
    assert [c["kind"] for c in failing] == ["unique" if kind == "primaryKey" else kind]
    quarantine = Path(run.details["quarantine"]) / "orders.parquet"
    assert pq.read_table(quarantine).num_rows >= 1
    assert str(quarantine.parent) in str(caught.value)


def test_failing_checks_report_example_rows(workspace: Workspace, make_product: ProductFactory) -> None:
    workspace.deploy([product(make_product, "- range: {field: amount, max: 5}", orders_csv(1, 3, amount=6))])
    with pytest.raises(QualityGateError) as caught:
        workspace.run("sales/orders")
    assert "3 row(s) outside [None, 5.0]" in str(caught.value)
    assert "'order_id': 1" in str(caught.value)


def test_the_last_good_snapshot_keeps_serving(workspace: Workspace, make_product: ProductFactory) -> None:
    folder = product(make_product, "- range: {field: amount, max: 50}", orders_csv(1, 3, amount=6))
    workspace.deploy([folder])
    workspace.run("sales/orders")
    (folder / "data" / "b.csv").write_text(orders_csv(10, 2, amount=99))
    with pytest.raises(QualityGateError):
        workspace.run("sales/orders")
    assert workspace.read("dp://sales/orders/orders").num_rows == 3
    statuses = [r.status for r in workspace.runtime.state.runs("sales/orders")]
    assert statuses == ["failed", "succeeded"]


def test_passing_checks_are_recorded(workspace: Workspace, orders: Path) -> None:
    workspace.deploy([orders])
    result = workspace.run("sales/orders")
    assert {c.check: c.passed for c in result.checks} == {"primaryKey": True, "range(amount)": True}
