"""Input ports: upstream products with windows, and operational files in three formats."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hexmesh.errors import InputError
from hexmesh.lifecycle import Workspace
from tests.stacks import Stack
from tests.support import ProductFactory, orders_csv


@pytest.fixture
def workspace(tmp_path: Path, stack: Stack) -> Iterator[Workspace]:
    """Inputs on each stack: upstream files on S3 are read through the upstream table's FileIO."""
    with Workspace(stack.settings(tmp_path / "ws")) as opened:
        yield opened


DOWNSTREAM = """
domain: sales
name: totals-{window_name}
version: 1.0.0
owner: sales@example.com
inputPorts:
  - name: orders
    from: dp://sales/orders/orders
    window: {window}
transformation:
  sql: transform.sql
outputPorts:
  - name: seen
    properties:
      - {{name: order_id, logicalType: integer}}
"""


def downstream(make: ProductFactory, window: str) -> Path:
    name = window.replace(" ", "-")
    return make(
        f"totals-{name}",
        DOWNSTREAM.format(window=window, window_name=name),
        {"transform.sql": "select order_id from orders"},
    )


def seen(workspace: Workspace, window: str) -> list[int]:
    name = window.replace(" ", "-")
    return sorted(workspace.read(f"dp://sales/totals-{name}/seen").column("order_id").to_pylist())


def test_windows_over_an_upstream_product(workspace: Workspace, orders: Path, make_product: ProductFactory) -> None:
    folders = [downstream(make_product, w) for w in ("all", "incremental")]
    workspace.deploy([orders, *folders])
    workspace.run_all()
    (orders / "data" / "day2.csv").write_text(orders_csv(100, 2, day="2026-01-02"))
    workspace.run_all()
    # An append port fed the whole history each run holds it twice: "all" suits replace ports.
    assert seen(workspace, "all") == sorted([1, 2, 3, 4, 5] * 2 + [100, 101])
    assert seen(workspace, "incremental") == [1, 2, 3, 4, 5, 100, 101]
    skipped = workspace.run("sales/totals-incremental")
    assert skipped.status == "skipped"


def test_last_n_days_reads_recent_event_time(workspace: Workspace, orders: Path, make_product: ProductFactory) -> None:
    recent = (datetime.now(UTC) - timedelta(hours=30)).strftime("%Y-%m-%d")
    (orders / "data" / "recent.csv").write_text(orders_csv(500, 2, day=recent))
    workspace.deploy([orders, downstream(make_product, "last 3d")])
    workspace.run_all()
    assert seen(workspace, "last 3d") == [500, 501]


SOURCE = """
domain: ops
name: events
version: 1.0.0
owner: ops@example.com
inputPorts:
  - name: raw
    source: {{format: {fmt}, path: landing}}
    window: incremental
outputPorts:
  - name: events
    properties:
      - {{name: id, logicalType: integer, required: true}}
      - {{name: kind, logicalType: string}}
"""


def write(folder: Path, fmt: str, name: str, ids: list[int]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"id": i, "kind": f"k{i % 2}"} for i in ids]
    if fmt == "csv":
        (folder / f"{name}.csv").write_text("id,kind\n" + "".join(f"{r['id']},{r['kind']}\n" for r in rows))
    elif fmt == "json":
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        pq.write_table(pa.Table.from_pylist(rows), folder / f"{name}.parquet")


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_file_sources_read_each_file_once(workspace: Workspace, make_product: ProductFactory, fmt: str) -> None:
    folder = make_product("events", SOURCE.format(fmt=fmt))
    write(folder / "landing", fmt, "a", [1, 2])
    workspace.deploy([folder])
    workspace.run("ops/events")
    write(folder / "landing" / "2026", fmt, "b", [3])
    workspace.run("ops/events")
    assert workspace.run("ops/events").status == "skipped"
    ids = workspace.read("dp://ops/events/events").column("id").to_pylist()
    assert sorted(ids) == [1, 2, 3]


def test_a_source_with_no_files_says_so(workspace: Workspace, make_product: ProductFactory) -> None:
    folder = make_product("events", SOURCE.format(fmt="csv"))
    (folder / "landing").mkdir()
    workspace.deploy([folder])
    with pytest.raises(InputError, match="found no csv files at 'landing'"):
        workspace.run("ops/events")


def test_a_missing_source_folder_says_so(workspace: Workspace, make_product: ProductFactory) -> None:
    folder = make_product("events", SOURCE.format(fmt="csv"))
    workspace.deploy([folder])
    with pytest.raises(InputError, match="does not exist"):
        workspace.run("ops/events")


def test_a_corrupt_file_is_named(workspace: Workspace, make_product: ProductFactory) -> None:
    folder = make_product("events", SOURCE.format(fmt="parquet"))
    (folder / "landing").mkdir()
    (folder / "landing" / "broken.parquet").write_bytes(b"not parquet at all")
    workspace.deploy([folder])
    with pytest.raises(InputError, match="cannot read parquet file .*broken.parquet"):
        workspace.run("ops/events")


def test_source_paths_expand_environment_variables(
    workspace: Workspace, make_product: ProductFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = workspace.settings.home / "landing"  # the node's default source root
    monkeypatch.setenv("LANDING_ROOT", str(landing))
    folder = make_product("events", SOURCE.format(fmt="csv").replace("path: landing", 'path: "${LANDING_ROOT}/in"'))
    write(landing / "in", "csv", "a", [7])
    workspace.deploy([folder])
    workspace.run("ops/events")
    assert workspace.read("dp://ops/events/events").column("id").to_pylist() == [7]
    monkeypatch.delenv("LANDING_ROOT")
    with pytest.raises(InputError, match=r"\$\{LANDING_ROOT\}, which is not set"):
        workspace.run("ops/events")


def test_a_run_whose_inputs_all_saw_nothing_new_is_skipped(
    workspace: Workspace, orders: Path, make_product: ProductFactory
) -> None:
    spec = DOWNSTREAM.format(window="incremental", window_name="mixed").replace(
        "transformation:", "  - name: history\n    from: dp://sales/orders/orders\n    window: all\ntransformation:"
    )
    folder = make_product("mixed", spec, {"transform.sql": "select order_id from orders"})
    workspace.deploy([orders, folder])
    workspace.run_all()
    assert workspace.run("sales/totals-mixed").status == "skipped"  # neither input changed
    (orders / "data" / "day2.csv").write_text(orders_csv(100, 1, day="2026-01-02"))
    workspace.run("sales/orders")
    assert workspace.run("sales/totals-mixed").status == "succeeded"
