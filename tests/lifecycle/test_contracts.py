"""``hexmesh test``: a contract's checks on a live port, read as the caller; the schema-evolution fixtures
classified by ``hexmesh plan`` and invalid data failed with the rule that failed."""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hexmesh.cli.main import app
from hexmesh.errors import InputError, QualityGateError
from hexmesh.governance import (
    AccessDeniedError,
    Principal,
)
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
from hexmesh.product.policy import tokens
from tests.standards.material import need_standards

EVOLUTION = "datacontract-cli-fixtures/tests/fixtures/schema-evolution"


@pytest.fixture
def fixtures(tmp_path: Path) -> Path:
    """The schema-evolution contracts and data, where their ./fixtures/... server paths resolve."""
    source = need_standards() / EVOLUTION
    target = tmp_path / "tests" / "fixtures" / "schema-evolution"
    shutil.copytree(source, target)
    return tmp_path / "tests"


@pytest.fixture
def workspace(tmp_path: Path, fixtures: Path) -> Iterator[Workspace]:
    """A workspace whose products may read the contracts' data where it lies (a source root)."""
    ws = Workspace(Settings.defaults(tmp_path / "ws").merged({"source_roots": [str(fixtures)]}))
    yield ws
    ws.close()


@pytest.fixture
def cities(workspace: Workspace, fixtures: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """geo/cities deployed from contract v1 reading its CSV server, run once; yields an owner token."""
    monkeypatch.chdir(fixtures)
    (outcome,) = workspace.import_documents(
        [fixtures / "fixtures/schema-evolution/odcs-datacontract-cities-version-1.yaml"],
        tmp_path / "products" / "v1",
        domain="geo",
        owner="geo-team@example.com",
        server="dev-csv",
    )
    workspace.deploy([outcome.folder])
    workspace.run("geo/cities")
    token, _ = tokens.create_token(workspace.runtime.state.db, Principal("geo-team@example.com", "User"))
    yield token


def _contract(fixtures: Path, version: int) -> Path:
    return fixtures / f"fixtures/schema-evolution/odcs-datacontract-cities-version-{version}.yaml"


def test_a_contract_that_holds_passes(workspace: Workspace, fixtures: Path, cities: str) -> None:
    report = workspace.test_contract(_contract(fixtures, 1), "dp://geo/cities/cities", token=cities)
    assert report.passed and report.rows == 2
    assert [c.name for c in report.checks] == ["schema(city_id)", "schema(name)", "primaryKey"]


def test_the_next_contract_fails_on_the_field_it_adds(workspace: Workspace, fixtures: Path, cities: str) -> None:
    report = workspace.test_contract(_contract(fixtures, 2), "dp://geo/cities/cities", token=cities)
    failed = {c.name: c.detail for c in report.checks if not c.passed}
    assert failed["schema(population)"] == "the port serves no field population"
    assert set(failed) == {"schema(population)"}  # checks on a missing field say so, they do not run


def test_invalid_data_fails_with_the_rule_that_failed(
    workspace: Workspace, fixtures: Path, cities: str, tmp_path: Path
) -> None:
    # A producer without the contract's constraints publishes the invalid dataset (Smallville: 9000 people).
    folder = tmp_path / "products" / "lenient"
    folder.mkdir(parents=True)
    (folder / "dataproduct.yaml").write_text(
        textwrap.dedent(
            f"""
            domain: geo
            name: cities-feed
            version: 1.0.0
            owner: geo-team@example.com
            inputPorts:
              - name: raw
                source: {{format: csv, path: {fixtures}/fixtures/schema-evolution/invalid/cities-version-2-invalid.csv}}
            outputPorts:
              - name: cities
                properties:
                  - {{name: city_id, logicalType: string, required: true}}
                  - {{name: name, logicalType: string, required: true}}
                  - {{name: population, logicalType: integer}}
            """
        )
    )
    workspace.deploy([folder])
    workspace.run("geo/cities-feed")
    report = workspace.test_contract(_contract(fixtures, 2), "dp://geo/cities-feed/cities", token=cities)
    failed = [(c.name, c.detail) for c in report.checks if not c.passed]
    assert failed == [("logicalTypeOptions.minimum(population)", "1 row(s) where population is not >= 10000.0")]


def test_the_quality_gate_refuses_the_invalid_data_by_the_same_rule(
    workspace: Workspace, fixtures: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(fixtures)
    (outcome,) = workspace.import_documents(
        [_contract(fixtures, 2)], tmp_path / "products", domain="geo", owner="o", server="current-csv-invalid"
    )
    workspace.deploy([outcome.folder])
    with pytest.raises(QualityGateError, match=r"logicalTypeOptions\.minimum\(population\)"):
        workspace.run("geo/cities")


def test_plan_classifies_each_step_of_the_evolution(
    workspace: Workspace, fixtures: Path, cities: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(fixtures)
    steps = {}
    for version in (2, 3):
        (outcome,) = workspace.import_documents(
            [_contract(fixtures, version)], tmp_path / f"v{version}", domain="geo", owner="o", server="current-csv"
        )
        (plan,) = workspace.plan([outcome.folder])
        steps[version] = plan
        if version == 2:
            workspace.deploy([outcome.folder])
    v2, v3 = steps[2], steps[3]
    assert v2.new_major and v2.refusal is None
    assert [(c.kind, c.what) for c in v2.changes if "population" in c.what] == [
        ("compatible", "optional field 'population' added")
    ]
    assert [(c.kind, c.what) for c in v3.breaking] == [("breaking", "field 'population' becomes required")]


def test_the_caller_reads_what_a_policy_lets_it(workspace: Workspace, fixtures: Path, cities: str) -> None:
    stranger, _ = tokens.create_token(workspace.runtime.state.db, Principal("eve@example.com", "User"))
    with pytest.raises(AccessDeniedError, match="eve@example.com"):
        workspace.test_contract(_contract(fixtures, 1), "dp://geo/cities/cities", token=stranger)
    with pytest.raises(InputError, match="pass --token or set HEXMESH_TOKEN"):
        workspace.test_contract(_contract(fixtures, 1), "dp://geo/cities/cities", token=None)


def test_cli_prints_a_table_json_and_exits_for_ci(workspace: Workspace, fixtures: Path, cities: str) -> None:
    home = str(workspace.settings.home)
    runner = CliRunner()
    ok = runner.invoke(
        app,
        ["test", str(_contract(fixtures, 1)), "--port", "dp://geo/cities/cities", "--home", home, "--token", cities],
    )
    assert ok.exit_code == 0, ok.output
    assert "all checks passed" in ok.output and "schema(city_id)" in ok.output
    failed = runner.invoke(
        app,
        ["test", str(_contract(fixtures, 2)), "--port", "dp://geo/cities/cities", "--json", "--home", home],
        env={"HEXMESH_TOKEN": cities},
    )
    assert failed.exit_code == QualityGateError.exit_code
    report = json.loads(failed.output)
    assert report["passed"] is False
    assert {c["name"] for c in report["checks"] if not c["passed"]} == {"schema(population)"}
