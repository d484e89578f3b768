"""Runs publish exactly one snapshot per output port, all ports or none, and never rewrite history."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from hexmesh.errors import SchemaMismatchError
from hexmesh.infra.state import from_us
from hexmesh.lifecycle import Workspace
from hexmesh.product import ReadRequest
from tests.support import ProductFactory, orders_csv

TWO_PORTS = """
domain: sales
name: split
version: 1.0.0
owner: sales@example.com
inputPorts:
  - name: raw
    source: {format: csv, path: data}
    window: incremental
transformation:
  sql: {small: small.sql, large: large.sql}
outputPorts:
  - name: small
    properties: [{name: order_id, logicalType: integer}, {name: amount, logicalType: number}]
  - name: large
    properties: [{name: order_id, logicalType: integer}, {name: amount, logicalType: number}]
"""


def snapshot_count(workspace: Workspace, port: tuple[str, ...]) -> int:
    return len(workspace.runtime.tables.snapshots(port))


def test_each_run_adds_exactly_one_snapshot_per_port(workspace: Workspace, make_product: ProductFactory) -> None:
    folder = make_product(
        "split",
        TWO_PORTS,
        {
            "small.sql": "select order_id, amount from raw where amount < 50",
            "large.sql": "select order_id, amount from raw where amount >= 50",
            "data/a.csv": orders_csv(1, 4, amount=10),
        },
    )
    workspace.deploy([folder])
    small, large = ("sales", "split", "v1", "small"), ("sales", "split", "v1", "large")
    base = snapshot_count(workspace, small), snapshot_count(workspace, large)
    workspace.run("sales/split")
    (folder / "data" / "b.csv").write_text(orders_csv(10, 3, amount=99))
    workspace.run("sales/split")
    assert (snapshot_count(workspace, small), snapshot_count(workspace, large)) == (base[0] + 2, base[1] + 2)
    assert workspace.read("dp://sales/split/small").num_rows == 4
    assert workspace.read("dp://sales/split/large").num_rows == 3


def test_a_run_publishes_all_ports_or_none(workspace: Workspace, make_product: ProductFactory) -> None:
    folder = make_product(
        "split",
        TWO_PORTS,
        {
            "small.sql": "select order_id, amount from raw",
            "large.sql": "select order_id, 'not a number' as amount from raw",
            "data/a.csv": orders_csv(1, 4),
        },
    )
    workspace.deploy([folder])
    with pytest.raises(SchemaMismatchError, match="'amount' is large_string|'amount' is string"):
        workspace.run("sales/split")
    for port in ("small", "large"):
        reader = workspace.reader(f"dp://sales/split/{port}")
        assert reader.publications() == []
        assert workspace.read(reader.address).num_rows == 0
    (failed,) = workspace.runtime.state.runs("sales/split")
    assert failed.status == "failed" and "does not match its declared schema" in (failed.error or "")


def test_published_data_files_never_change(workspace: Workspace, orders: Path) -> None:
    workspace.deploy([orders])
    workspace.run("sales/orders")
    reader = workspace.reader("dp://sales/orders/orders")
    first = reader.publications()[0]
    files = workspace.runtime.tables.data_files(reader.record.table_id, first.snapshot_id)
    before = {f.file_path: Path(f.file_path.removeprefix("file://")).read_bytes() for f in files}
    (orders / "data" / "day2.csv").write_text(orders_csv(100, 5, day="2026-01-02"))
    workspace.run("sales/orders")
    after = {path: Path(path.removeprefix("file://")).read_bytes() for path in before}
    assert after == before
    assert workspace.read(reader.address, ReadRequest(as_of=from_us(first.published_us))).num_rows == 5


def test_an_unpublished_commit_is_never_served_and_the_next_run_recovers(workspace: Workspace, orders: Path) -> None:
    """A run killed between its Iceberg commit and its publication leaves an orphan snapshot."""
    workspace.deploy([orders])
    workspace.run("sales/orders")
    reader = workspace.reader("dp://sales/orders/orders")
    published = reader.publications()[-1].snapshot_id
    orphan = workspace.runtime.tables.stage(reader.record.table_id, workspace.read(reader.address).slice(0, 2))
    workspace.runtime.tables.commit(orphan, replace=False, base=published, properties={})
    assert workspace.read(reader.address).num_rows == 5
    (orders / "data" / "day2.csv").write_text(orders_csv(100, 5, day="2026-01-02"))
    workspace.run("sales/orders")
    rows = workspace.read(reader.address)
    assert rows.num_rows == 10
    assert sorted(rows.column("order_id").to_pylist()) == [1, 2, 3, 4, 5, 100, 101, 102, 103, 104]


def test_replace_mode_publishes_the_whole_state_and_keeps_history(
    workspace: Workspace, make_product: ProductFactory
) -> None:
    spec = TWO_PORTS.replace("window: incremental", "window: all").replace(
        "  - name: small\n", "  - name: small\n    mode: replace\n"
    )
    folder = make_product(
        "split",
        spec,
        {
            "small.sql": "select order_id, amount from raw",
            "large.sql": "select order_id, amount from raw",
            "data/a.csv": orders_csv(1, 3),
        },
    )
    workspace.deploy([folder])
    workspace.run("sales/split")
    reader = workspace.reader("dp://sales/split/small")
    first = reader.publications()[-1]
    (folder / "data" / "b.csv").write_text(orders_csv(10, 2))
    workspace.run("sales/split")
    assert workspace.read(reader.address).num_rows == 5  # replaced: the full state, not 3 + 5
    assert workspace.read("dp://sales/split/large").num_rows == 8  # appended
    assert workspace.read(reader.address, ReadRequest(as_of=from_us(first.published_us))).num_rows == 3


def test_an_empty_output_still_publishes_one_snapshot(workspace: Workspace, make_product: ProductFactory) -> None:
    folder = make_product(
        "split",
        TWO_PORTS,
        {
            "small.sql": "select order_id, amount from raw where false",
            "large.sql": "select order_id, amount from raw",
            "data/a.csv": orders_csv(1, 2),
        },
    )
    workspace.deploy([folder])
    result = workspace.run("sales/split")
    assert result.rows == {"small": 0, "large": 2}
    assert len(workspace.reader("dp://sales/split/small").publications()) == 1
    assert isinstance(workspace.read("dp://sales/split/small"), pa.Table)
