"""Transformations: SQL on locked-down DuckDB, Python functions, and their failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from hexmesh.errors import TransformError
from hexmesh.lifecycle import Workspace
from tests.support import ORDERS_SPEC, ProductFactory, orders_csv

PYTHON_SPEC = ORDERS_SPEC.replace("sql: transform.sql", "python: transform.py:build")


def assert_nothing_published(workspace: Workspace) -> None:
    reader = workspace.reader("dp://sales/orders/orders")
    assert reader.publications() == []
    (run,) = workspace.runtime.state.runs("sales/orders")
    assert run.status == "failed"


def test_a_sql_error_names_the_file_and_line(workspace: Workspace, make_product: ProductFactory) -> None:
    folder = make_product(
        "orders",
        ORDERS_SPEC,
        {
            "transform.sql": "select order_id,\n  customer,\n  no_such_column\nfrom raw\n",
            "data/a.csv": orders_csv(1, 3),
        },
    )
    workspace.deploy([folder])
    with pytest.raises(TransformError, match=r'transform\.sql:3: Binder Error: .*"no_such_column"'):
        workspace.run("sales/orders")
    assert_nothing_published(workspace)


@pytest.mark.parametrize(
    "query",
    [
        "select * from read_csv('/etc/passwd')",
        "select * from read_parquet('/tmp/anything.parquet')",
        "select * from glob('/etc/*')",
    ],
)
def test_sql_cannot_read_files(workspace: Workspace, make_product: ProductFactory, query: str) -> None:
    folder = make_product("orders", ORDERS_SPEC, {"transform.sql": query, "data/a.csv": orders_csv(1, 3)})
    workspace.deploy([folder])
    with pytest.raises(TransformError, match="file and network access are disabled"):
        workspace.run("sales/orders")
    assert_nothing_published(workspace)


def test_a_python_transformation_runs(workspace: Workspace, make_product: ProductFactory) -> None:
    folder = make_product(
        "orders",
        PYTHON_SPEC,
        {
            "transform.py": """
            import pyarrow as pa
            import pyarrow.compute as pc

            def build(inputs):
                raw = inputs["raw"]
                return pa.table({
                    "order_id": raw["order_id"],
                    "customer": pc.utf8_upper(raw["customer"]),
                    "ordered_at": raw["ordered_at"],
                    "amount": pc.multiply(raw["amount"], 2),
                })
        """,
            "data/a.csv": orders_csv(1, 3, amount=1.5),
        },
    )
    workspace.deploy([folder])
    workspace.run("sales/orders")
    table = workspace.read("dp://sales/orders/orders")
    assert table.column("amount").to_pylist() == [3.0, 3.0, 3.0]
    assert table.column("customer").to_pylist() == ["C1", "C2", "C3"]


def test_an_exception_in_python_names_the_line(workspace: Workspace, make_product: ProductFactory) -> None:
    folder = make_product(
        "orders",
        PYTHON_SPEC,
        {
            "transform.py": "def build(inputs):\n    total = 1\n    return total / 0\n",
            "data/a.csv": orders_csv(1, 3),
        },
    )
    workspace.deploy([folder])
    with pytest.raises(TransformError, match=r"transform\.py:3 in build: ZeroDivisionError"):
        workspace.run("sales/orders")
    assert_nothing_published(workspace)


def test_a_python_function_returning_the_wrong_thing(workspace: Workspace, make_product: ProductFactory) -> None:
    folder = make_product(
        "orders",
        PYTHON_SPEC,
        {
            "transform.py": "def build(inputs):\n    return [1, 2]\n",
            "data/a.csv": orders_csv(1, 3),
        },
    )
    workspace.deploy([folder])
    with pytest.raises(TransformError, match="returned list for port 'orders'; return a pyarrow.Table"):
        workspace.run("sales/orders")


def test_a_missing_function_is_named(workspace: Workspace, make_product: ProductFactory, tmp_path: Path) -> None:
    folder = make_product("orders", PYTHON_SPEC, {"transform.py": "x = 1\n", "data/a.csv": orders_csv(1, 3)})
    workspace.deploy([folder])
    with pytest.raises(TransformError, match="has no function 'build'"):
        workspace.run("sales/orders")


def test_sql_runs_in_utc_and_cannot_change_settings(
    workspace: Workspace, make_product: ProductFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    sql = "select order_id, customer, cast(cast(ordered_at as timestamptz) as date) as ordered_at, amount from raw"
    folder = make_product(
        "orders",
        ORDERS_SPEC.replace("logicalType: timestamp", "logicalType: date"),
        {
            "transform.sql": sql,
            "data/a.csv": "order_id,customer,ordered_at,amount\n1,c,2026-11-22 02:00:00+00,1\n",
        },
    )
    workspace.deploy([folder])
    workspace.run("sales/orders")
    assert str(workspace.read("dp://sales/orders/orders").column("ordered_at")[0]) == "2026-11-22"
    (folder / "transform.sql").write_text("SET TimeZone = 'America/New_York'")
    spec = folder / "dataproduct.yaml"
    spec.write_text(spec.read_text().replace("version: 1.0.0", "version: 1.0.1"))
    workspace.deploy([folder])
    (folder / "data" / "b.csv").write_text("order_id,customer,ordered_at,amount\n2,c,2026-11-23 02:00:00+00,1\n")
    with pytest.raises(TransformError, match="a SET statement cannot run in a transformation"):
        workspace.run("sales/orders")
