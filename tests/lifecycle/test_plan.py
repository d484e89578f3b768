"""Plan and breaking-change detection: every change classified, deploy refuses a missing major bump."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hexmesh.cli.main import app
from hexmesh.errors import DeployError
from hexmesh.lifecycle import Workspace, compare_specs
from hexmesh.spec import parse_spec
from tests.support import ORDERS_SPEC

BASE = """
domain: sales
name: orders
version: 1.0.0
owner: sales@example.com
inputPorts:
  - {name: raw, source: {format: csv, path: data}}
transformation: {sql: transform.sql}
outputPorts:
  - name: orders
    eventTime: ordered_at
    primaryKey: [order_id]
    properties:
      - {name: order_id, logicalType: integer, required: true}
      - {name: customer, logicalType: string, classification: internal, concept: "https://schema.org/customer"}
      - {name: ordered_at, logicalType: timestamp, required: true}
      - {name: amount, logicalType: decimal, precision: 10, scale: 2}
      - {name: qty, logicalType: integer}
    slo: {freshness: 1d, completeness: 0.99}
"""


def _changes(before: str, after: str) -> list[tuple[str, str]]:
    old = parse_spec(BASE, "old.yaml")[0]
    new = parse_spec(BASE.replace(before, after), "new.yaml")[0]
    return [(c.kind, c.what) for c in compare_specs(old, new)]


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ("      - {name: qty, logicalType: integer}\n", "", "field 'qty' removed"),
        ("{name: qty,", "{name: quantity,", "field 'qty' removed (renamed to 'quantity'?)"),
        ("{name: qty, logicalType: integer}", "{name: qty, logicalType: string}", "type of 'qty' integer → string"),
        ("precision: 10, scale: 2", "precision: 8, scale: 2", "type of 'amount' decimal(10,2) → decimal(8,2)"),
        ("{name: qty, logicalType: integer}", "{name: qty, logicalType: integer, required: true}", "becomes required"),
        ("classification: internal", "classification: personal", "classification internal → personal"),
        ("primaryKey: [order_id]", "primaryKey: [order_id, customer]", "primary key"),
        ("eventTime: ordered_at", "eventTime: null", "eventTime ordered_at → None"),
        ('concept: "https://schema.org/customer"', 'concept: "https://schema.org/buyer"', "concept"),
        ("freshness: 1d", "freshness: 2d", "freshness SLO 1d → 2d"),
        ("completeness: 0.99", "completeness: 0.9", "completeness SLO 0.99 → 0.9"),
        ("  - name: orders\n", "  - name: sales\n", "output port 'orders' removed"),
        ("{name: qty, logicalType: integer}", "{name: qty, logicalType: integer, unique: true}", "becomes unique"),
        (
            "{name: qty, logicalType: integer}",
            "{name: qty, logicalType: integer, logicalTypeOptions: {minimum: 1}}",
            "constraints of 'qty' none → {'minimum': 1.0}",
        ),
    ],
)
def test_breaking_changes_are_named(before: str, after: str, expected: str) -> None:
    changes = _changes(before, after)
    assert any(kind == "breaking" and expected in what for kind, what in changes), changes


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (
            "      - {name: qty, logicalType: integer}\n",
            "      - {name: qty, logicalType: integer}\n      - {name: note, logicalType: string}\n",
            "optional field 'note' added",
        ),
        ("precision: 10, scale: 2", "precision: 12, scale: 2", "decimal(10,2) → decimal(12,2)"),
        ("{name: qty, logicalType: integer}", "{name: qty, logicalType: number}", "integer → number"),
        ("owner: sales@example.com", "owner: sales@example.com\ndescription: All orders.", "description changed"),
        ("freshness: 1d", "freshness: 12h", "freshness SLO 1d → 12h"),
        ("classification: internal", "classification: public", "classification internal → public"),
        ("{name: qty, logicalType: integer}", "{name: qty, logicalType: integer, physicalType: INT}", "physicalType"),
        ("slo: {freshness: 1d,", "slo: {retention: 3y, freshness: 1d,", "retention SLO none → 3y"),
        (
            "owner: sales@example.com",
            "owner: sales@example.com\ncustomProperties: [{property: odcs.tenant, value: acme}]",
            "customProperties changed",
        ),
    ],
)
def test_compatible_changes_are_named(before: str, after: str, expected: str) -> None:
    changes = _changes(before, after)
    assert changes and all(kind == "compatible" for kind, _ in changes), changes
    assert any(expected in what for _, what in changes), changes


def test_a_shorter_retention_is_a_weakened_promise() -> None:
    old = parse_spec(BASE.replace("slo: {", "slo: {retention: P1Y, "), "a.yaml")[0]
    new = parse_spec(BASE.replace("slo: {", "slo: {retention: 30d, "), "b.yaml")[0]
    (change,) = compare_specs(old, new)
    assert change.breaking and change.what == "retention SLO P1Y → 30d"


def test_a_widening_iceberg_cannot_apply_in_place_still_needs_a_major() -> None:
    old = parse_spec(BASE, "a.yaml")[0]
    new = parse_spec(BASE.replace("{name: qty, logicalType: integer}", "{name: qty, logicalType: number}"), "b")[0]
    (change,) = compare_specs(old, new)
    assert not change.breaking and not change.in_place


def _bump(folder: Path, version: str, old: str = "", new: str = "") -> None:
    spec = folder / "dataproduct.yaml"
    text = spec.read_text().replace("version: 1.0.0", f"version: {version}")
    spec.write_text(text.replace(old, new) if old else text)


def test_deploy_refuses_a_breaking_change_without_a_major_bump(workspace: Workspace, orders: Path) -> None:
    workspace.deploy([orders])
    _bump(orders, "1.1.0", "      - {name: customer, logicalType: string, classification: personal}\n", "")
    with pytest.raises(DeployError, match=r"need a new major version; deploy it as 2\.0\.0(.|\n)*'customer' removed"):
        workspace.deploy([orders])
    assert [v.version for v in workspace.runtime.state.versions("sales/orders")] == ["1.0.0"]


def test_a_major_bump_deploys_new_tables_beside_the_old(workspace: Workspace, orders: Path) -> None:
    workspace.deploy([orders])
    _bump(orders, "2.0.0", "      - {name: customer, logicalType: string, classification: personal}\n", "")
    (sql := orders / "transform.sql").write_text(sql.read_text().replace(" customer,", ""))
    (plan,) = workspace.plan([orders])
    assert plan.new_major and plan.breaking and plan.refusal is None
    workspace.deploy([orders])
    assert workspace.runtime.tables.exists(("sales", "orders", "v1", "orders"))
    assert workspace.runtime.tables.exists(("sales", "orders", "v2", "orders"))


def test_plan_cli_json_and_check_gate_ci(tmp_path: Path, orders: Path) -> None:
    runner, home = CliRunner(), ["--home", str(tmp_path / "ws")]
    assert runner.invoke(app, ["deploy", str(orders), *home]).exit_code == 0
    _bump(orders, "1.0.1", "classification: personal", "classification: restricted, tags: [subject]")
    result = runner.invoke(app, ["plan", str(orders), "--json", "--check", *home])
    assert result.exit_code == DeployError.exit_code
    (plan,) = json.loads(result.stdout)
    assert plan["deployable"] is False and plan["baseline"] == "1.0.0"
    assert plan["changes"][0]["kind"] == "breaking" and "classification" in plan["changes"][0]["where"]
    readable = runner.invoke(app, ["plan", str(orders), *home])
    assert "refused, 1 breaking" in readable.stdout
    assert "classification personal → restricted" in readable.stderr


def test_plan_of_a_new_product_passes_the_check(tmp_path: Path, make_product: object) -> None:
    folder = make_product("orders", ORDERS_SPEC, {"transform.sql": "select 1"})  # type: ignore[operator]
    result = CliRunner().invoke(app, ["plan", str(folder), "--check", "--home", str(tmp_path / "ws")])
    assert result.exit_code == 0, result.output
    assert "new product" in result.stdout


def test_plan_refuses_what_deploy_refuses_whatever_the_changes(workspace: Workspace, orders: Path) -> None:
    workspace.deploy([orders])
    (orders / "transform.sql").write_text("select 1 as order_id\n")
    (plan,) = workspace.plan([orders])
    assert plan.refusal is not None and "already deployed with different content" in plan.refusal
    _bump(orders, "1.2.0")
    workspace.deploy([orders])
    spec = orders / "dataproduct.yaml"
    spec.write_text(spec.read_text().replace("version: 1.2.0", "version: 1.1.0"))
    (plan,) = workspace.plan([orders])
    assert plan.refusal is not None and "older than the deployed 1.2.0" in plan.refusal
