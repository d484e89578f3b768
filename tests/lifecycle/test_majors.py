"""Parallel majors: the old major keeps serving, consumers stay pinned, minors move them forward."""

from __future__ import annotations

from pathlib import Path

import pytest

from hexmesh.errors import SpecError
from hexmesh.lifecycle import Workspace
from hexmesh.product import DeployedProduct, ReadRequest
from tests.support import ProductFactory, orders_csv

CONSUMER = """
domain: finance
name: revenue
version: 1.0.0
owner: sales@example.com  # the sales team's own product: it reads sales/orders as its owner team
inputPorts:
  - {{name: orders, from: "{address}", window: all}}
transformation: {{sql: transform.sql}}
outputPorts:
  - name: seen
    properties:
      - {{name: order_id, logicalType: integer}}
"""


def consumer(make: ProductFactory, address: str = "dp://sales/orders/orders", name: str = "revenue") -> Path:
    spec = CONSUMER.format(address=address).replace("name: revenue", f"name: {name}")
    return make(name, spec, {"transform.sql": "select order_id from orders"})


def major_two(orders: Path) -> None:
    """Release 2.0.0 of sales/orders: the customer field is removed (a breaking change)."""
    spec = orders / "dataproduct.yaml"
    spec.write_text(
        spec.read_text()
        .replace("version: 1.0.0", "version: 2.0.0")
        .replace("      - {name: customer, logicalType: string, classification: personal}\n", "")
    )
    sql = orders / "transform.sql"
    sql.write_text(sql.read_text().replace(" customer,", ""))


def test_a_new_major_serves_beside_the_old_and_consumers_stay_pinned(
    workspace: Workspace, orders: Path, make_product: ProductFactory
) -> None:
    workspace.deploy([orders])
    workspace.run("sales/orders")
    workspace.deploy([consumer(make_product)])
    major_two(orders)
    (orders / "data" / "day2.csv").write_text(orders_csv(100, 3))
    workspace.deploy([orders])
    workspace.run("sales/orders")  # the newest major: 2
    assert workspace.read("dp://sales/orders/orders").num_rows == 8
    assert "customer" not in workspace.read("dp://sales/orders/orders").column_names
    old = workspace.read("dp://sales/orders@1/orders")
    assert old.num_rows == 5 and "customer" in old.column_names
    result = workspace.run("finance/revenue")
    assert result.rows == {"seen": 5}  # still reading major 1, as when it was deployed
    (run,) = workspace.runtime.state.runs("finance/revenue", limit=1)
    assert run.details["inputs"]["orders"]["major"] == 1


def test_a_new_consumer_version_keeps_its_pin_and_at_major_moves_it(
    workspace: Workspace, orders: Path, make_product: ProductFactory
) -> None:
    workspace.deploy([orders])
    folder = consumer(make_product)
    workspace.deploy([folder])
    major_two(orders)
    workspace.deploy([orders])
    spec = folder / "dataproduct.yaml"
    spec.write_text(spec.read_text().replace("version: 1.0.0", "version: 1.0.1"))
    workspace.deploy([folder])
    assert workspace.runtime.state.pins("finance/revenue", "1.0.1") == {"orders": ("sales/orders", 1)}
    spec.write_text(
        spec.read_text().replace("version: 1.0.1", "version: 1.1.0").replace("orders/orders", "orders@2/orders")
    )
    workspace.deploy([folder])
    assert workspace.runtime.state.pins("finance/revenue", "1.1.0") == {"orders": ("sales/orders", 2)}


def test_minor_releases_move_consumers_forward(
    workspace: Workspace, orders: Path, make_product: ProductFactory
) -> None:
    workspace.deploy([orders])
    workspace.run("sales/orders")
    workspace.deploy([consumer(make_product)])
    spec = orders / "dataproduct.yaml"
    spec.write_text(spec.read_text().replace("version: 1.0.0", "version: 1.1.0"))
    (orders / "data" / "day2.csv").write_text(orders_csv(100, 3))
    workspace.deploy([orders])
    assert workspace.run("sales/orders").version == "1.1.0"
    assert DeployedProduct.load(workspace.runtime, "sales/orders", major=1).record.version == "1.1.0"
    assert workspace.run("finance/revenue").rows == {"seen": 8}


WIDEN = """
domain: shop
name: prices
version: {version}
owner: shop@example.com
inputPorts:
  - {{name: raw, source: {{format: csv, path: data}}, window: incremental}}
transformation: {{sql: transform.sql}}
outputPorts:
  - name: prices
    properties:
      - {{name: item, logicalType: integer, required: true}}
      - {{name: price, logicalType: decimal, precision: {precision}, scale: 2}}
{extra}"""


def test_old_snapshots_read_with_their_own_schema_after_compatible_evolution(
    workspace: Workspace, make_product: ProductFactory
) -> None:
    folder = make_product(
        "prices",
        WIDEN.format(version="1.0.0", precision=6, extra=""),
        {
            "transform.sql": "select item, cast(price as decimal(6, 2)) as price from raw",
            "data/a.csv": "item,price\n1,9.99\n",
        },
    )
    workspace.deploy([folder])
    first = workspace.run("shop/prices").published_at
    (folder / "dataproduct.yaml").write_text(
        WIDEN.format(version="1.1.0", precision=12, extra="      - {name: label, logicalType: string}\n")
    )
    (folder / "transform.sql").write_text(
        "select item, cast(price as decimal(12, 2)) as price, 'big' as label from raw"
    )
    (folder / "data" / "b.csv").write_text("item,price\n2,123456.78\n")
    (plan,) = workspace.plan([folder])
    assert plan.refusal is None and not plan.breaking
    workspace.deploy([folder])
    workspace.run("shop/prices")
    then = workspace.read("dp://shop/prices/prices", ReadRequest(as_of=first))
    assert then.to_pylist() == [{"item": 1, "price": then.column("price")[0].as_py()}]
    assert str(then.column("price")[0].as_py()) == "9.99" and "label" not in then.column_names
    now = sorted(workspace.read("dp://shop/prices/prices").to_pylist(), key=lambda r: r["item"])
    assert [str(r["price"]) for r in now] == ["9.99", "123456.78"]
    assert [r["label"] for r in now] == [None, "big"]


def test_a_new_input_that_closes_a_cycle_is_refused(
    workspace: Workspace, orders: Path, make_product: ProductFactory
) -> None:
    workspace.deploy([orders])
    workspace.deploy([consumer(make_product)])
    spec = orders / "dataproduct.yaml"
    spec.write_text(
        spec.read_text()
        .replace("version: 1.0.0", "version: 1.1.0")
        .replace("inputPorts:\n", "inputPorts:\n  - {name: back, from: dp://finance/revenue/seen}\n")
    )
    with pytest.raises(
        SpecError,
        match=r"dataproduct.yaml:7:3: products depend on each other in a cycle: finance/revenue → sales/orders",
    ):
        workspace.deploy([orders])
    assert [v.version for v in workspace.runtime.state.versions("sales/orders")] == ["1.0.0"]
