"""Backfill: a past event-time window is recomputed into a new snapshot; history stays visible."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hexmesh.cli.main import app
from hexmesh.errors import ReadError
from hexmesh.lifecycle import Workspace
from hexmesh.product import ReadRequest
from hexmesh.product.control import ControlState, PausedError
from tests.support import orders_csv


def amounts(workspace: Workspace, request: ReadRequest | None = None) -> dict[int, float]:
    table = workspace.read("dp://sales/orders/orders", request)
    return dict(zip(table.column("order_id").to_pylist(), table.column("amount").to_pylist(), strict=True))


def fix_the_transform(orders: Path) -> None:
    """Release 1.0.1, whose SQL corrects the amounts (they were off by a factor of two)."""
    spec = orders / "dataproduct.yaml"
    spec.write_text(spec.read_text().replace("version: 1.0.0", "version: 1.0.1"))
    sql = orders / "transform.sql"
    sql.write_text(sql.read_text().replace(", amount", ", amount * 2 as amount"))


def test_backfill_publishes_the_corrected_window_and_history_still_answers(workspace: Workspace, orders: Path) -> None:
    workspace.deploy([orders])
    first = workspace.run("sales/orders").published_at
    (orders / "data" / "day2.csv").write_text(orders_csv(100, 2, day="2026-01-02"))
    workspace.run("sales/orders")
    before = amounts(workspace)
    fix_the_transform(orders)
    workspace.deploy([orders])
    result = workspace.backfill("sales/orders", since=date(2026, 1, 2), until=date(2026, 1, 3))
    assert result.status == "succeeded" and result.rows == {"orders": 7}
    after = amounts(workspace)
    assert after == {**before, 100: 20.0, 101: 20.0}  # only the window changed
    assert amounts(workspace, ReadRequest(as_of=first)) == {n: 10.0 for n in range(1, 6)}
    (run,) = workspace.runtime.state.runs("sales/orders", limit=1)
    assert run.trigger == "backfill" and run.details["backfill"] == {"since": "2026-01-02", "until": "2026-01-03"}
    assert workspace.run("sales/orders").status == "skipped"  # positions did not move: no file is read twice


def test_backfill_needs_an_event_time_and_an_ordered_window(workspace: Workspace, orders: Path) -> None:
    workspace.deploy([orders])
    workspace.run("sales/orders")
    with pytest.raises(ReadError, match="must be before until"):
        workspace.backfill("sales/orders", since=date(2026, 1, 2), until=date(2026, 1, 1))
    spec = orders / "dataproduct.yaml"
    spec.write_text(
        spec.read_text().replace("version: 1.0.0", "version: 2.0.0").replace("    eventTime: ordered_at\n", "")
    )
    workspace.deploy([orders])
    with pytest.raises(ReadError, match="declares no eventTime"):
        workspace.backfill("sales/orders", since=date(2026, 1, 1), until=date(2026, 1, 2))


def test_backfill_on_the_command_line(tmp_path: Path, orders: Path) -> None:
    runner, home = CliRunner(), ["--home", str(tmp_path / "ws")]
    assert runner.invoke(app, ["deploy", str(orders), *home]).exit_code == 0
    assert runner.invoke(app, ["run", "sales/orders", *home]).exit_code == 0
    result = runner.invoke(app, ["backfill", "sales/orders", "--since", "2026-01-01", "--until", "2026-01-02", *home])
    assert result.exit_code == 0, result.output


def test_backfill_refuses_a_paused_product_and_force_backfills_it_once(tmp_path: Path, orders: Path) -> None:
    runner, home = CliRunner(), ["--home", str(tmp_path / "ws")]
    assert runner.invoke(app, ["deploy", str(orders), *home]).exit_code == 0
    assert runner.invoke(app, ["run", "sales/orders", *home]).exit_code == 0
    window = ["--since", "2026-01-01", "--until", "2026-01-02"]
    with Workspace.open(tmp_path / "ws") as workspace:  # the store POST .../control/pause writes
        ControlState(workspace.runtime.state.db).update("sales/orders", paused=True)
        with pytest.raises(PausedError, match=r"sales/orders is paused .* --force to backfill it once"):
            workspace.backfill("sales/orders", since=date(2026, 1, 1), until=date(2026, 1, 2))
    refused = runner.invoke(app, ["backfill", "sales/orders", *window, *home])
    assert refused.exit_code == PausedError.exit_code and "backfills are refused" in refused.output
    forced = runner.invoke(app, ["backfill", "sales/orders", *window, "--force", *home])
    assert forced.exit_code == 0, forced.output
    with Workspace.open(tmp_path / "ws") as workspace:
        (run,) = workspace.runtime.state.runs("sales/orders", limit=1)
        assert run.trigger == "backfill" and run.status == "succeeded"
        assert workspace.paused("sales/orders")  # --force does not resume it
