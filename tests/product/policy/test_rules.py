"""Global governance rules at validate and deploy time."""

from __future__ import annotations

from pathlib import Path

import pytest

from hexmesh.errors import SpecError
from hexmesh.governance import PolicyError
from hexmesh.infra.settings import Settings
from hexmesh.infra.state.rulesets import ruleset_of
from hexmesh.lifecycle import Workspace
from tests.product.policy.conftest import SPEC, SQL, rows_csv
from tests.product.sql.conftest import write_product

UNMASKED = SPEC.replace("    - {field: customer, pseudonymize: {scope: product}}\n", "")
RULES = """
name: acme
version: "3"
rules:
  - id: acme.owner-email
    severity: warning
    message: owners are e-mail addresses at acme
    "on": product  # quoted or bare: YAML 1.1 reads a bare on as true, hexmesh accepts both
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
        assert ruleset_of(ws.runtime.state.db, "sales/orders", "1.0.0") == "hexmesh-core@1.0.0+acme@3"


def test_the_shipped_rules_block_without_a_governance_folder(tmp_path: Path) -> None:
    folder = write_product(tmp_path / "orders", UNMASKED, SQL, rows_csv())
    with _workspace(tmp_path, governance=False) as ws:
        with pytest.raises(SpecError, match="core.pii-transformed") as caught:
            ws.deploy([folder])
        assert "hexmesh-core@1.0.0" in str(caught.value) and "add a privacy rule" in str(caught.value)
        assert ws.runtime.state.versions() == []


@pytest.mark.parametrize("key", ['"on"', "on"])
def test_a_bare_or_quoted_on_key_in_rules_yaml_works(tmp_path: Path, key: str) -> None:
    folder = write_product(tmp_path / "orders", SPEC, SQL, rows_csv())
    with _workspace(tmp_path, governance=True) as ws:
        rules = RULES.replace('"on": product', f"{key}: product").replace("severity: warning", "severity: blocking")
        (ws.settings.home / "governance" / "rules.yaml").write_text(rules, encoding="utf-8")
        with pytest.raises(SpecError, match="acme.owner-email"):
            ws.deploy([folder])  # the rule applies: sales@example.com is not an acme address


def test_a_broken_rules_yaml_names_the_line_and_deploys_nothing(tmp_path: Path) -> None:
    folder = write_product(tmp_path / "orders", SPEC, SQL, rows_csv())
    with _workspace(tmp_path, governance=True) as ws:
        broken = RULES.replace('"on": product', '"on": table')
        (ws.settings.home / "governance" / "rules.yaml").write_text(broken, encoding="utf-8")
        with pytest.raises(PolicyError, match=r"governance/rules.yaml:8:5: rules.0.on: Input should be 'product'"):
            ws.deploy([folder])
        assert ws.runtime.state.versions() == []
