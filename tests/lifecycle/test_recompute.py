"""A new version recomputes as its windows say, plan shows every change with its consequence, full refresh."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hexmesh.cli.main import app
from hexmesh.errors import InputError
from hexmesh.lifecycle import Workspace
from hexmesh.product import ReadRequest
from tests.support import ORDERS_SPEC, ORDERS_SQL, ProductFactory, orders_csv

WHOLE = ORDERS_SPEC.replace("window: incremental", "window: all").replace(
    "    quality:\n", "    slo: {freshness: 1d}\n    quality:\n"
)


def _bump(folder: Path, version: str, *edits: tuple[str, str]) -> None:
    spec = folder / "dataproduct.yaml"
    text = spec.read_text().replace("version: 1.0.0", f"version: {version}")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    spec.write_text(text)


def _amounts(workspace: Workspace, as_of: datetime | None = None) -> list[float]:
    table = workspace.read("dp://sales/orders/orders", ReadRequest(as_of=as_of))
    return sorted(table.column("amount").to_pylist())


def test_a_new_version_whose_sql_changed_recomputes_a_whole_window(
    workspace: Workspace, make_product: ProductFactory
) -> None:
    folder = make_product("orders", WHOLE, {"transform.sql": ORDERS_SQL, "data/day1.csv": orders_csv(1, 3)})
    workspace.deploy([folder])
    assert workspace.run("sales/orders").status == "succeeded"
    assert workspace.run("sales/orders").status == "skipped"  # same version, nothing new: nothing to do
    (folder / "transform.sql").write_text(ORDERS_SQL.replace("amount\n", "amount * 2 as amount\n"))
    _bump(folder, "1.0.1")
    workspace.deploy([folder])
    result = workspace.run("sales/orders")
    assert result.status == "succeeded", result.message
    assert _amounts(workspace)[-3:] == [20.0, 20.0, 20.0]
    run = workspace.runtime.state.runs("sales/orders", limit=1)[0]
    assert run.details["recompute"].startswith("first run of 1.0.1")


def test_a_new_version_with_only_incremental_inputs_says_how_to_recompute(workspace: Workspace, orders: Path) -> None:
    workspace.deploy([orders])
    workspace.run("sales/orders")
    (orders / "transform.sql").write_text(ORDERS_SQL.replace("amount\n", "amount * 2 as amount\n"))
    _bump(orders, "1.0.1")
    workspace.deploy([orders])
    result = workspace.run("sales/orders")
    assert result.status == "skipped"
    assert "--full-refresh" in result.message and "every input port is incremental" in result.message


def test_plan_shows_every_change_that_matters_with_its_consequence(
    workspace: Workspace, make_product: ProductFactory
) -> None:
    folder = make_product("orders", WHOLE, {"transform.sql": ORDERS_SQL, "data/day1.csv": orders_csv(1, 3)})
    workspace.deploy([folder])
    (folder / "transform.sql").write_text(ORDERS_SQL + "where amount >= 0\n")
    _bump(
        folder,
        "1.1.0",
        ("path: data}", "path: data, nullValues: ['NA']}"),
        ("      - range: {field: amount, min: 0}\n", "      - range: {field: amount, min: 0}\n      - rowCount: {}\n"),
        ("slo: {freshness: 1d}", "slo: {freshness: 12h}"),
        ("redact: true}", "redact: true}\n    - {field: customer, for: {group: auditors}, redact: true}"),
    )
    (plan,) = workspace.plan([folder])
    changes = {c.where: c for c in plan.changes}
    assert plan.refusal is None
    code = changes["transformation"]
    assert code.what == "code file transform.sql changed"
    assert "recomputes from raw (all: all of it)" in code.consequence
    assert "parsed with the new options" in changes["inputPorts.raw.source"].consequence
    assert "must pass it before anything is published" in changes["outputPorts.orders.quality"].consequence
    assert "rowCount" in changes["outputPorts.orders.quality"].what
    assert "new promise" in changes["outputPorts.orders.slo.freshness"].consequence
    assert "every read" in changes["policies"].consequence
    assert plan.first_run.startswith("the first run of 1.1.0 recomputes from raw (all: all of it)")
    result = CliRunner().invoke(
        app, ["plan", str(folder), "--json", "--home", str(workspace.settings.home)], env={"COLUMNS": "200"}
    )
    (document,) = json.loads(result.stdout)
    assert document["compatible"] == len(plan.changes) and document["first_run"] == plan.first_run
    assert all(change["consequence"] for change in document["changes"])


def test_a_new_source_is_read_from_its_start(workspace: Workspace, orders: Path) -> None:
    workspace.deploy([orders])
    workspace.run("sales/orders")
    # The same file under a new folder: the old ledger would call it a duplicate.
    (orders / "moved").mkdir()
    (orders / "moved" / "day1.csv").write_text((orders / "data" / "day1.csv").read_text())
    _bump(orders, "1.0.1", ("path: data}", "path: moved}"))
    (plan,) = workspace.plan([orders])
    source = next(c for c in plan.changes if c.where == "inputPorts.raw.source")
    assert "from its new origin from the start" in source.consequence
    workspace.deploy([orders])
    result = workspace.run("sales/orders")
    assert result.status == "succeeded" and result.rows == {"orders": 5}


def test_full_refresh_recomputes_from_all_input_and_keeps_history(
    workspace: Workspace, orders: Path, tmp_path: Path
) -> None:
    workspace.deploy([orders])
    workspace.run("sales/orders")
    (orders / "data" / "day2.csv").write_text(orders_csv(6, 2, day="2026-01-02"))
    workspace.run("sales/orders")
    before = datetime.now(UTC)
    assert _amounts(workspace) == [10.0] * 7
    (orders / "transform.sql").write_text(ORDERS_SQL.replace("amount\n", "amount + 1 as amount\n"))
    _bump(orders, "1.0.1")
    workspace.deploy([orders])
    runner = CliRunner()
    result = runner.invoke(app, ["run", "sales/orders", "--full-refresh", "--home", str(workspace.settings.home)])
    assert result.exit_code == 0, result.output
    assert _amounts(workspace) == [11.0] * 7  # every row recomputed, none appended twice
    assert _amounts(workspace, before) == [10.0] * 7  # the earlier snapshot answers as it did
    run = workspace.runtime.state.runs("sales/orders", limit=1)[0]
    assert run.details["full_refresh"] is True and run.details["reason"].startswith("full refresh")
    (orders / "data" / "day3.csv").write_text(orders_csv(8, 1, day="2026-01-03"))
    assert workspace.run("sales/orders").rows == {"orders": 1}  # positions moved to what was read
    both = runner.invoke(app, ["run", "--all", "--full-refresh", "--home", str(workspace.settings.home)])
    assert both.exit_code != 0 and "recomputes one product" in both.output


def test_full_refresh_of_a_cdc_input_is_refused_before_anything_runs(
    workspace: Workspace, make_product: ProductFactory
) -> None:
    spec = """
    domain: cdc
    name: users
    version: 1.0.0
    owner: users@example.com
    inputPorts:
      - name: users
        source: {postgres: "postgresql://nobody@127.0.0.1:1/none", table: users, mode: cdc}
        window: incremental
    outputPorts:
      - name: users
        properties:
          - {name: id, logicalType: integer}
    """
    folder = make_product("users", spec)
    workspace.deploy([folder])
    with pytest.raises(InputError, match=r"cannot be fully refreshed: input port\(s\) users(.|\n)*Nothing was run"):
        workspace.run("cdc/users", full_refresh=True)
    assert workspace.runtime.state.runs("cdc/users") == []
