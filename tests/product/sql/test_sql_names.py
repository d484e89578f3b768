"""sqlName and sqlSchema: a port's SQL name declared in the spec, validated for clashes, served by the SQL port."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from hexmesh.errors import DeployError, SpecError
from hexmesh.lifecycle import Workspace
from tests.product.sql.conftest import Loop, serve
from tests.support import ORDERS_SPEC, ORDERS_SQL, ProductFactory, orders_csv

NAMED = ORDERS_SPEC.replace("owner: sales@example.com\n", "owner: sales@example.com\nsqlSchema: shop\n").replace(
    "  - name: orders\n    eventTime", "  - name: orders\n    sqlName: orders\n    eventTime"
)


def _orders(make_product: ProductFactory, name: str, spec: str) -> Path:
    return make_product(name, spec, {"transform.sql": ORDERS_SQL, "data/day1.csv": orders_csv(1, 5)})


def test_the_sql_port_serves_a_declared_sql_name_and_the_default_stays(
    workspace: Workspace, make_product: ProductFactory, loop: Loop
) -> None:
    named = _orders(make_product, "orders", NAMED)
    plain = _orders(make_product, "returns", ORDERS_SPEC.replace("name: orders\nversion", "name: returns\nversion"))
    workspace.deploy([named, plain])
    workspace.run("sales/orders")
    workspace.run("sales/returns")
    port = serve(workspace, loop)
    try:
        with psycopg.connect(port.dsn(), autocommit=True) as con:
            assert con.execute("select count(*) from shop.orders").fetchone() == (5,)
            assert con.execute("select count(*) from sales.returns__orders").fetchone() == (5,)  # the default
            names = con.execute(
                "select table_schema || '.' || table_name from information_schema.tables "
                "where table_schema in ('sales', 'shop') order by 1"
            ).fetchall()
            assert names == [("sales.returns__orders",), ("shop.orders",)]
    finally:
        loop.run(port.server.close())
    described = workspace.runtime.state.versions("sales/orders")[0]
    assert "sqlName: orders" in described.spec_text


def test_two_ports_claiming_one_sql_name_is_a_validate_error_at_its_line(
    workspace: Workspace, make_product: ProductFactory
) -> None:
    twin = NAMED.replace(
        "policies:",
        "  - name: copy\n    sqlName: orders\n    properties:\n"
        "      - {name: order_id, logicalType: integer}\npolicies:",
    )
    folder = _orders(make_product, "orders", twin)
    with pytest.raises(SpecError) as raised:
        workspace.validate([folder])
    text = str(raised.value)
    assert "output ports 'orders' and 'copy' both claim the SQL name shop.orders" in text
    line = next(
        n for n, row in enumerate((folder / "dataproduct.yaml").read_text().splitlines(), 1) if "name: copy" in row
    )
    assert f"dataproduct.yaml:{line + 1}:" in text  # at the second port's sqlName


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("sqlSchema: pg_catalog", "reserved"),
        ("sqlSchema: Shop", "needs no quotes(.|\n)*'shop'"),
        ("sqlSchema: main", "main"),
    ],
)
def test_bad_sql_names_are_spec_errors(
    workspace: Workspace, make_product: ProductFactory, key: str, message: str
) -> None:
    folder = _orders(make_product, "orders", NAMED.replace("sqlSchema: shop", key))
    with pytest.raises(SpecError, match=message):
        workspace.validate([folder])


def test_a_clash_with_another_deployed_product_is_a_deploy_error_that_leaves_nothing(
    workspace: Workspace, make_product: ProductFactory
) -> None:
    workspace.deploy([_orders(make_product, "orders", NAMED)])
    other = NAMED.replace("name: orders\nversion", "name: archive\nversion")
    folder = _orders(make_product, "archive", other)
    clash = r"none was deployed(.|\n)*would be shop.orders on the SQL port, which dp://sales/orders@1/orders already is"
    with pytest.raises(DeployError, match=clash):
        workspace.deploy([folder])
    assert workspace.runtime.state.versions("sales/archive") == []
    assert not workspace.runtime.tables.exists(("sales", "archive", "v1", "orders"))
    assert not (workspace.settings.bundles / "sales" / "archive").exists()
