"""The hexmesh command: the product life from init to read, and clear failures."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from hexmesh.cli.main import app


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HEXMESH_HOME", str(tmp_path / ".hexmesh"))
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def invoke(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_the_whole_life_of_a_product(cli: CliRunner, tmp_path: Path) -> None:
    assert "created shop/dataproduct.yaml" in invoke(cli, "init", "shop", "--domain", "sales")
    assert "✓ sales/shop 0.1.0" in invoke(cli, "validate", "shop")
    assert "deployed sales/shop 0.1.0" in invoke(cli, "deploy", "shop")
    assert "unchanged sales/shop 0.1.0" in invoke(cli, "deploy", "shop")
    assert "published sales/shop 0.1.0 (orders: 3 rows)" in invoke(cli, "run", "sales/shop")
    table = invoke(cli, "read", "dp://sales/shop/orders")
    assert "shipped" in table and "3 rows" in table
    csv = invoke(cli, "read", "dp://sales/shop/orders", "--format", "csv", "--columns", "order_id,status")
    assert csv.splitlines()[0] == '"order_id","status"'
    lines = invoke(cli, "read", "dp://sales/shop/orders", "--format", "json", "--filter", "order_id = 2")
    assert json.loads(lines)["status"] == "shipped"
    invoke(cli, "read", "dp://sales/shop/orders", "--format", "parquet", "--output", "out.parquet")
    assert pq.read_table(tmp_path / "out.parquet").num_rows == 3
    assert "sales/shop" in invoke(cli, "list")
    status = invoke(cli, "status", "sales/shop")
    assert "succeeded" in status and "dp://sales/shop/orders" in status
    assert "skipped" in invoke(cli, "run", "--all")


def test_validate_reports_every_problem_with_its_location(cli: CliRunner, tmp_path: Path) -> None:
    invoke(cli, "init", "shop")
    spec = tmp_path / "shop" / "dataproduct.yaml"
    spec.write_text(spec.read_text().replace("owner:", "ownr:").replace("logicalType: integer", "logicalType: int"))
    output = invoke(cli, "validate", "shop", code=2)
    assert "invalid spec" in output
    assert "shop/dataproduct.yaml:7:1: unknown key 'ownr' (did you mean 'owner'?)" in output
    assert output.count("logicalType") >= 2


def test_errors_say_what_to_do(cli: CliRunner) -> None:
    assert "none is deployed yet" in invoke(cli, "run", "sales/nothing", code=3)
    assert "ISO 8601" in invoke(cli, "read", "dp://a/b/c", "--as-of", "yesterday", code=2)
    assert "give a product, or --all" in invoke(cli, "run", code=2)


def test_spec_schema_is_json(cli: CliRunner) -> None:
    schema = json.loads(invoke(cli, "spec", "schema"))
    assert "outputPorts" in schema["properties"]


def test_a_paused_product_is_refused_by_run_unless_forced_and_status_says_so(cli: CliRunner, tmp_path: Path) -> None:
    from hexmesh.infra.state import StateStore
    from hexmesh.product.control import ControlState

    invoke(cli, "init", "shop", "--domain", "sales")
    invoke(cli, "deploy", "shop")
    state = StateStore(f"sqlite:///{tmp_path / '.hexmesh' / 'state.db'}")
    ControlState(state.db).update("sales/shop", paused=True)  # what POST .../control/pause does
    state.close()
    refused = invoke(cli, "run", "sales/shop", code=10)
    assert "sales/shop is paused" in refused and "--force" in refused
    assert "published sales/shop 0.1.0 (orders: 3 rows)" in invoke(cli, "run", "sales/shop", "--force")
    assert "paused" in invoke(cli, "status", "sales/shop")
