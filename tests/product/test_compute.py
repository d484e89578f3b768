"""Choosing a run's compute engine, and what a run leaves behind on the machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from hexmesh.errors import SpecError, WorkspaceError
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
from tests.support import ORDERS_SPEC, ProductFactory, orders_csv


def test_a_run_leaves_no_working_files(workspace: Workspace, orders: Path, make_product: ProductFactory) -> None:
    broken = make_product(
        "broken", ORDERS_SPEC.replace("name: orders", "name: broken"), {"transform.sql": "select nope from raw"}
    )
    (broken / "data").mkdir()
    (broken / "data" / "a.csv").write_text(orders_csv(1, 2))
    workspace.deploy([orders, broken])
    assert workspace.run("sales/orders").status == "succeeded"
    with pytest.raises(Exception, match="nope"):
        workspace.run("sales/broken")
    runs = workspace.runtime.settings.compute_runs
    assert not runs.exists() or list(runs.iterdir()) == []


def test_the_engine_is_recorded_with_the_run(workspace: Workspace, orders: Path) -> None:
    workspace.deploy([orders])
    workspace.run("sales/orders")
    (run,) = workspace.runtime.state.runs("sales/orders")
    assert run.details["engine"] == "duckdb"


def test_an_unknown_engine_in_the_spec_is_a_spec_error(workspace: Workspace, make_product: ProductFactory) -> None:
    spec = ORDERS_SPEC.replace("  sql: transform.sql", "  sql: transform.sql\n  engine: duckdbb")
    folder = make_product("orders", spec, {"transform.sql": "select * from raw", "data/a.csv": orders_csv(1, 2)})
    with pytest.raises(SpecError, match="duckdb"):
        workspace.deploy([folder])


def test_an_unknown_default_engine_fails_the_run_and_publishes_nothing(tmp_path: Path, orders: Path) -> None:
    workspace = Workspace(Settings.defaults(tmp_path / "ws").merged({"compute_engine": "duckbd"}))
    try:
        workspace.deploy([orders])
        with pytest.raises(WorkspaceError, match=r"compute engine 'duckbd' is unknown; did you mean 'duckdb'\?"):
            workspace.run("sales/orders")
        assert workspace.reader("dp://sales/orders/orders").publications() == []
    finally:
        workspace.close()


def test_a_running_run_records_its_stage_and_rows_so_far(workspace: Workspace, orders: Path) -> None:
    workspace.deploy([orders])
    seen: dict[str, tuple[str, dict[str, int] | None]] = {}

    def watch(stage: str) -> None:  # what observability reads while the run is going on
        (run,) = workspace.runtime.state.runs("sales/orders")
        assert run.status == "running"
        seen[stage] = (run.details["stage"], run.details.get("rows_so_far"))

    workspace.run("sales/orders", progress=watch)
    assert seen["reading input ports"] == ("reading input ports", None)
    assert seen["running the transformation (duckdb)"][1] == {"raw": 5}
    assert seen["publishing"] == ("publishing", {"orders": 5})
    (run,) = workspace.runtime.state.runs("sales/orders")
    assert run.status == "succeeded" and "stage" not in run.details
