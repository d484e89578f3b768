"""Deprecation and retirement: recorded, shown, told to consumers; retired majors stop serving."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hexmesh.cli.main import app
from hexmesh.errors import DeployError, InputError, NotFoundError
from hexmesh.lifecycle import Workspace
from tests.lifecycle.test_majors import consumer, major_two
from tests.support import ProductFactory

SUNSET = date(2027, 6, 30)


def _two_majors(workspace: Workspace, orders: Path, make_product: ProductFactory) -> None:
    workspace.deploy([orders])
    workspace.run("sales/orders")
    workspace.deploy([consumer(make_product)])
    workspace.run("finance/revenue")
    major_two(orders)
    workspace.deploy([orders])


def test_deprecation_is_recorded_and_every_consumer_gets_a_notice(
    workspace: Workspace, orders: Path, make_product: ProductFactory
) -> None:
    _two_majors(workspace, orders, make_product)
    state = workspace.deprecate("sales/orders@1", sunset=SUNSET, successor="dp://sales/orders@2", reason="v2")
    assert (state.status, state.sunset, state.successor) == ("deprecated", SUNSET, "dp://sales/orders@2")
    assert state.consumers == ["finance/revenue@1"]
    assert workspace.lifecycle_state("sales/orders", 1).status == "deprecated"
    assert workspace.lifecycle_state("sales/orders", 2).status == "active"
    (notice,) = workspace.notices("finance/revenue")
    assert notice.kind == "deprecated" and notice.major == 1
    assert "2027-06-30" in notice.message and "dp://sales/orders@2" in notice.message
    assert workspace.read("dp://sales/orders@1/orders").num_rows == 5  # still serving until retired
    status = workspace.status("sales/orders")
    assert [(s.major, s.status) for s in status.majors] == [(2, "active"), (1, "deprecated")]


def test_deprecate_and_status_on_the_command_line(tmp_path: Path, orders: Path) -> None:
    runner, home = CliRunner(), ["--home", str(tmp_path / "ws")]
    assert runner.invoke(app, ["deploy", str(orders), *home]).exit_code == 0
    result = runner.invoke(app, ["deprecate", "sales/orders", "--sunset", "2027-06-30", *home])
    assert result.exit_code == 0, result.output
    assert "major 1: deprecated, sunset 2027-06-30" in runner.invoke(app, ["status", "sales/orders", *home]).stdout
    assert "deprecat" in runner.invoke(app, ["list", *home]).stdout  # narrow terminals wrap the cell
    bad = runner.invoke(app, ["deprecate", "sales/orders", "--sunset", "soon", *home])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output


def test_retire_refuses_while_consumers_read_it_and_names_them(
    workspace: Workspace, orders: Path, make_product: ProductFactory
) -> None:
    _two_majors(workspace, orders, make_product)
    with pytest.raises(DeployError, match=r"still has 1 consumer\(s\): finance/revenue@1.*--force"):
        workspace.retire("sales/orders@1")
    assert workspace.lifecycle_state("sales/orders", 1).status == "active"
    with pytest.raises(DeployError, match="say which major"):
        workspace.retire("sales/orders")


def test_an_upstream_retired_under_a_consumer(workspace: Workspace, orders: Path, make_product: ProductFactory) -> None:
    _two_majors(workspace, orders, make_product)
    state = workspace.retire("sales/orders@1", force=True)
    assert state.status == "retired" and state.details["dependents"] == ["finance/revenue@1"]
    assert state.details["retention"] == "keep" and state.details["deleted_tables"] == []
    with pytest.raises(NotFoundError, match="major 1 is retired and no longer serves"):
        workspace.read("dp://sales/orders@1/orders")
    assert workspace.read("dp://sales/orders/orders").num_rows == 0  # major 2 serves
    with pytest.raises(InputError, match=r"input port 'orders' reads .*retired"):
        workspace.run("finance/revenue")
    assert workspace.read("dp://finance/revenue/seen").num_rows == 5  # last good snapshot
    assert [n.kind for n in workspace.notices("finance/revenue")] == ["retired"]
    assert workspace.runtime.tables.exists(("sales", "orders", "v1", "orders"))  # retention: keep
    assert workspace.retire("sales/orders@1").status == "retired"  # idempotent
    with pytest.raises(DeployError, match="major 1 is retired"):
        spec = orders / "dataproduct.yaml"
        spec.write_text(spec.read_text().replace("version: 2.0.0", "version: 1.5.0"))
        workspace.deploy([orders])


def test_retention_delete_purges_the_tables_and_records_it(workspace: Workspace, orders: Path) -> None:
    spec = orders / "dataproduct.yaml"
    spec.write_text(spec.read_text().replace("owner: sales@example.com", "owner: sales@example.com\nretention: delete"))
    workspace.deploy([orders])
    workspace.run("sales/orders")
    state = workspace.retire("sales/orders@1")
    assert state.retention == "delete"
    assert state.details["deleted_tables"] == ["sales.orders.v1.orders"]
    assert not workspace.runtime.tables.exists(("sales", "orders", "v1", "orders"))
    with pytest.raises(NotFoundError, match="retired"):
        workspace.run("sales/orders")


def test_a_consumer_cannot_be_deployed_against_a_retired_major(
    workspace: Workspace, orders: Path, make_product: ProductFactory
) -> None:
    workspace.deploy([orders])
    major_two(orders)
    workspace.deploy([orders])
    workspace.retire("sales/orders@1")
    stale = consumer(make_product, "dp://sales/orders@1/orders")
    (plan,) = workspace.plan([stale])  # plan says what deploy will say, before anyone tries
    assert plan.refusal is not None and "reads sales/orders@1, which is retired" in plan.refusal
    assert plan.as_dict()["deployable"] is False
    with pytest.raises(DeployError, match=r"reads sales/orders@1, which is retired"):
        workspace.deploy([stale])
    workspace.deploy([consumer(make_product, "dp://sales/orders/orders", name="fresh")])
    assert workspace.runtime.state.pins("finance/fresh", "1.0.0") == {"orders": ("sales/orders", 2)}


def test_status_still_shows_a_product_whose_every_major_is_retired(workspace: Workspace, orders: Path) -> None:
    workspace.deploy([orders])
    workspace.retire("sales/orders@1")
    status = workspace.status("sales/orders")
    assert [(s.major, s.status) for s in status.majors] == [(1, "retired")]


def test_notices_print_as_json_with_stable_fields(
    workspace: Workspace, orders: Path, make_product: ProductFactory
) -> None:
    import json

    _two_majors(workspace, orders, make_product)
    workspace.deprecate("sales/orders@1", sunset=SUNSET, successor="dp://sales/orders@2", reason="v2")
    result = CliRunner().invoke(app, ["notices", "finance/revenue", "--json", "--home", str(workspace.settings.home)])
    assert result.exit_code == 0, result.output
    (notice,) = json.loads(result.stdout)
    assert set(notice) == {"consumer", "about", "kind", "message", "sent"}
    assert notice["about"] == "sales/orders@1" and notice["kind"] == "deprecated" and "T" in notice["sent"]
