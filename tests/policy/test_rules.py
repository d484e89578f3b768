"""Global governance rules at validate and deploy time."""

from __future__ import annotations

from pathlib import Path

import pytest

from hexmesh.errors import SpecError
from hexmesh.infra.settings import Settings
from hexmesh.infra.state.rulesets import ruleset_of
from hexmesh.lifecycle import Workspace
from tests.policy.conftest import SPEC, SQL, rows_csv
from tests.sql.conftest import write_product

UNMASKED = SPEC.replace("    - {field: customer, pseudonymize: {scope: product}}\n", "")
RULES = """
name: acme
version: "3"
rules:
  - id: acme.owner-email
    severity: warning
    message: owners are e-mail addresses at acme
    "on": product  # quoted: YAML 1.1 reads a bare on as true
    require: {owner: {pattern: ".+@acme[.]com"}}
"""


def _workspace(tmp_path: Path, *, governance: bool) -> Workspace:
    home = tmp_path / "ws"
    if governance:
        (home / "governance").mkdir(parents=True)
        (home / "governance" / "rules.yaml").write_text(RULES, encoding="utf-8")
    return Workspace(Settings.defaults(home))


def test_a_blocking_rule_stops_validate_and_deploy_with_the_fix(tmp_path: Path) -> None:
    folder = write_product(tmp_path / "orders", UNMASKED, SQL, rows_csv())
    with _workspace(tmp_path, governance=True) as ws:
        with pytest.raises(SpecError, match="core.pii-transformed") as caught:
            ws.deploy([folder])
        assert "add a privacy rule" in str(caught.value)
        assert ws.runtime.state.versions() == []  # nothing was deployed


def test_passing_products_record_the_rule_set_and_print_warnings(tmp_path: Path) -> None:
    folder = write_product(tmp_path / "orders", SPEC, SQL, rows_csv())
    with _workspace(tmp_path, governance=True) as ws:
        (outcome,) = ws.deploy([folder])
        assert "passed hexmesh-core@1.0.0+acme@3" in outcome.message
        assert "acme.owner-email" in outcome.message  # a warning, printed, not blocking
        assert ruleset_of(ws.runtime.state.engine, "sales/orders", "1.0.0") == "hexmesh-core@1.0.0+acme@3"


def test_without_a_governance_folder_findings_only_warn(tmp_path: Path) -> None:
    folder = write_product(tmp_path / "orders", UNMASKED, SQL, rows_csv())
    with _workspace(tmp_path, governance=False) as ws:
        (outcome,) = ws.deploy([folder])
        assert "warning: [blocking] core.pii-transformed" in outcome.message
