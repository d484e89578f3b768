"""``hexmesh import`` and ``hexmesh export`` on the command line: what they print and write."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from hexmesh.cli.main import app
from hexmesh.standards import validate_document
from tests.standards.material import need_standards


def test_import_then_export_on_the_command_line(tmp_path: Path) -> None:
    contract = need_standards() / "odcs/examples/all/full-example.odcs.yaml"
    home = str(tmp_path / "ws")
    runner = CliRunner()
    imported = runner.invoke(
        app, ["import", str(contract), "--out", str(tmp_path / "p"), "--owner", "o@x", "--home", home]
    )
    assert imported.exit_code == 0, imported.output
    assert "imported seller/my-quantum 1.1.0" in imported.output
    assert "kept under customProperties" in imported.output and "odcs.servers" in imported.output
    assert "rcvr_id tagged as the data subject" in imported.output
    folder = tmp_path / "p" / "my-quantum"
    printed = runner.invoke(app, ["export", str(folder), "--format", "odcs", "--home", home])
    assert printed.exit_code == 0, printed.output
    (document,) = list(yaml.safe_load_all(printed.output))
    assert document["id"] == "53581432-6c55-4ba2-a65f-72344a91553a"
    assert validate_document(document, "stdout") == []
    written = runner.invoke(
        app, ["export", str(folder), "--format", "odps", "--out", str(tmp_path / "out"), "--home", home]
    )
    assert written.exit_code == 0, written.output
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["my-quantum.odps.yaml", "my-quantum.receivers.odcs.yaml", "my-quantum.tbl.odcs.yaml"]


def test_an_invalid_contract_is_refused_at_its_line(tmp_path: Path) -> None:
    contract = need_standards() / "datacontract-cli-fixtures/tests/fixtures/lint/invalid_multiple_errors.odcs.yaml"
    result = CliRunner().invoke(app, ["import", str(contract), "--home", str(tmp_path / "ws")])
    assert result.exit_code == 2
    assert f"{contract}:1:1: missing required key 'version'" in result.output
    assert f"{contract}:1:1: missing required key 'status'" in result.output


def test_export_refuses_an_unknown_format(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["export", "x/y", "--format", "csv", "--home", str(tmp_path / "ws")])
    assert result.exit_code == 2 and "use one of odps, odcs, dpds, dcs" in result.output
