"""Rule-set versions: the control port accepts a new rule set, every product is re-checked, discovery tells."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hexmesh.errors import SpecError
from hexmesh.infra.settings import Settings
from hexmesh.infra.state import audit as audit_log
from hexmesh.infra.state.rulesets import check_of, current_ruleset
from hexmesh.lifecycle import Workspace
from tests.product.policy.conftest import SPEC, SQL, rows_csv
from tests.product.sql.conftest import write_product
from tests.server.nodes import OWNER_TOKEN as OWNER
from tests.server.nodes import TOKEN as GOVERNANCE
from tests.server.nodes import serve
from tests.support import RULES_BOMB

RULES = """\
name: acme
version: "1"
rules:
  - id: acme.owner-at-acme
    message: owners are acme addresses
    on: product
    require: {owner: {pattern: ".+@acme[.]com"}}
"""
#: The same rule set, relaxed: any e-mail address will do.
RELAXED = RULES.replace('version: "1"', 'version: "2"').replace(".+@acme[.]com", ".+@.+")
YAML = {"Content-Type": "application/yaml"}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, Workspace, Path]]:
    """A real ``hexmesh serve`` over a workspace with one governed product (a governance and an owner token)."""
    root = tmp_path_factory.mktemp("rulesets")
    home = root / "ws"
    folder = write_product(root / "orders", SPEC, SQL, rows_csv())
    workspace = Workspace(Settings.defaults(home))
    workspace.deploy([folder])
    workspace.run("sales/orders")
    try:
        with serve(home) as running, running.client() as http:
            yield http, workspace, folder
    finally:
        workspace.close()


def _put(http: httpx.Client, text: str, token: str | None = GOVERNANCE) -> Any:
    headers = {**YAML, **({"Authorization": f"Bearer {token}"} if token else {})}
    return http.put("/control/rules", content=text.encode(), headers=headers)


def _governance(http: httpx.Client) -> dict[str, Any]:
    document = http.get("/products/sales/orders").json()
    return dict(document["hexmesh:governance"])


def test_a_deploy_records_the_rule_set_it_passed_in_discovery(
    node: tuple[httpx.Client, Workspace, Path],
) -> None:
    http, _, _ = node
    governance = _governance(http)
    assert governance["hexmesh:ruleset"] == "hexmesh-core@1.0.0" and governance["hexmesh:passed"] is True
    assert governance["hexmesh:rulesetDigest"].startswith("sha256:")
    assert governance["hexmesh:blocking"] == []


@pytest.mark.parametrize(
    ("token", "status"),
    [(None, 401), ("wrong", 401), (OWNER, 403)],
)
def test_only_a_governance_token_may_change_the_rule_set(
    node: tuple[httpx.Client, Workspace, Path], token: str | None, status: int
) -> None:
    http, workspace, _ = node
    before = current_ruleset(workspace.runtime.state.db)
    response = _put(http, RULES, token)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert current_ruleset(workspace.runtime.state.db) == before  # nothing stored
    audit = http.get("/products/sales/orders/control/audit", headers={"Authorization": f"Bearer {GOVERNANCE}"})
    assert audit.status_code == 200
    refusals = audit_log.query(workspace.runtime.state.db, action="control.replace-rules")
    assert refusals and refusals[-1].decision == "refused" and refusals[-1].resource == "mesh"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (RULES.replace("on: product", "on: table"), "rule set:6:5: rules.0.on"),
        (RULES.replace("  - id:", "  - id: [", 1), "rule set:"),
        (RULES.replace('".+@acme[.]com"', '"(["'), "rule set:7:"),
        ("just text", "rule set:1:1: a rule set must be a YAML mapping"),
        (RULES_BOMB, "rule set:4:"),  # 16.7 million rules once expanded: the node once grew to 5.7 GB
    ],
)
def test_a_bad_rule_set_is_a_400_naming_the_line_and_nothing_changes(
    node: tuple[httpx.Client, Workspace, Path], text: str, where: str
) -> None:
    http, workspace, _ = node
    before = current_ruleset(workspace.runtime.state.db)
    response = _put(http, text)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert where in problem["detail"]
    assert current_ruleset(workspace.runtime.state.db) == before


def test_a_new_rule_set_is_a_new_revision_and_failing_products_keep_serving(
    node: tuple[httpx.Client, Workspace, Path],
) -> None:
    http, workspace, folder = node
    response = _put(http, RULES)
    assert response.status_code == 200, response.text
    change = response.json()
    revision = change["revision"]
    assert change["ruleset"] == "hexmesh-core@1.0.0+acme@1" and change["created"] is True
    (verdict,) = change["products"]
    assert verdict["product"] == "sales/orders" and verdict["status"] == "fail"
    assert any("acme.owner-at-acme" in f for f in verdict["findings"])

    # Discovery shows which revision the product failed; the product still serves its data.
    governance = _governance(http)
    assert governance["hexmesh:passed"] is False and governance["hexmesh:rulesetRevision"] == revision
    assert governance["hexmesh:ruleset"] == "hexmesh-core@1.0.0+acme@1"
    assert any("acme.owner-at-acme" in f for f in governance["hexmesh:blocking"])
    assert workspace.read("dp://sales/orders/orders").num_rows == 12

    # Sending it again stores nothing new; changing the rules without a new version is refused.
    again = _put(http, RULES).json()
    assert (again["revision"], again["created"]) == (revision, False)
    changed = _put(http, RULES.replace("acme addresses", "acme e-mail addresses"))
    assert changed.status_code == 400 and "bump version" in changed.json()["detail"]
    assert "'2'" in changed.json()["detail"]

    # New deploys meet the stored revision: a new version that fails it is refused.
    spec = folder / "dataproduct.yaml"
    spec.write_text(spec.read_text().replace("version: 1.0.0", "version: 1.0.1"), encoding="utf-8")
    try:
        with pytest.raises(SpecError, match=r"acme.owner-at-acme \(hexmesh-core@1.0.0\+acme@1\)"):
            workspace.deploy([folder])
        assert [v.version for v in workspace.runtime.state.versions("sales/orders")] == ["1.0.0"]
    finally:
        spec.write_text(spec.read_text().replace("version: 1.0.1", "version: 1.0.0"), encoding="utf-8")

    # A relaxed version 2: the product passes it, and discovery says so.
    relaxed = _put(http, RELAXED).json()
    assert relaxed["revision"] == revision + 1 and relaxed["products"][0]["status"] == "warn"
    check = check_of(workspace.runtime.state.db, "sales/orders", "1.0.0")
    assert check is not None and check.passed and check.revision == revision + 1
    governance = _governance(http)
    assert governance["hexmesh:passed"] is True and governance["hexmesh:ruleset"] == "hexmesh-core@1.0.0+acme@2"
    log = audit_log.query(workspace.runtime.state.db, action="control.replace-rules")
    assert ("env-token-1", "ok") in [(e.actor, e.decision) for e in log]
