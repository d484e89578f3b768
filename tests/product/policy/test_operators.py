"""Operators are principals: forget, tokens, retire, backfill and the audit log need the workspace's root or a
token allowed to, and every attempt is audited. A role administers; it never reads data."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from hexmesh.cli.main import app
from hexmesh.governance import Principal
from hexmesh.infra.settings import Settings
from hexmesh.infra.state import audit
from hexmesh.lifecycle import Workspace, init_product, stewardship
from hexmesh.product.authority import workspace_root
from hexmesh.product.policy import tokens


def invoke(home: Path, *args: str) -> Result:
    return CliRunner().invoke(app, [*args, "--home", str(home)])


def make_token(home: Path, principal: Principal) -> str:
    with Workspace(Settings.load(home)) as workspace:
        return tokens.create_token(workspace.runtime.state.db, principal)[0]


def entries(home: Path, action: str) -> list[audit.AuditEntry]:
    with Workspace(Settings.load(home)) as workspace:
        return audit.query(workspace.runtime.state.db, action=action)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    init_product(tmp_path / "shop", domain="sales", name="shop", owner="me@example.com")
    with Workspace.open(tmp_path / "ws") as workspace:
        workspace.deploy([tmp_path / "shop"])
        workspace.run("sales/shop")
    return tmp_path / "ws"


@pytest.fixture
def shared(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a workspace whose state is shared (PostgreSQL): nobody is its root, every act needs a token."""
    monkeypatch.setattr(stewardship, "workspace_root", lambda settings: None)


OPERATOR = Principal("ops", "ServiceAccount", roles=frozenset({"operator"}))
ANALYST = Principal("ann@example.com", groups=frozenset({"analysts"}))
OWNER = Principal("me@example.com")


def test_the_root_of_a_workspace_of_its_own_acts_and_is_named(home: Path) -> None:
    root = workspace_root(Settings.load(home))
    assert root is not None and root.name.startswith("root:")
    result = invoke(home, "forget", "subject-1")
    assert result.exit_code == 0, result.output
    [forgotten] = entries(home, "control.forget")
    assert forgotten.actor == root.name and forgotten.resource == "mesh" and forgotten.decision == "no-key"
    assert "subject-1" not in str(forgotten.details)  # the log is forever: it does not name the subject


def test_shared_state_has_no_root(home: Path) -> None:
    settings = Settings.load(home)
    assert workspace_root(dataclasses.replace(settings, state_url="postgresql://db.example.com/hexmesh")) is None


@pytest.mark.usefixtures("shared")
def test_forget_needs_an_operator_token_and_every_attempt_is_audited(home: Path) -> None:
    nobody = invoke(home, "forget", "subject-1")
    assert nobody.exit_code != 0 and "to forget the mesh needs a token" in nobody.output
    analyst = invoke(home, "forget", "subject-1", "--token", make_token(home, ANALYST))
    assert analyst.exit_code != 0 and "may not forget the mesh" in analyst.output
    assert "operator role" in analyst.output
    operator = invoke(home, "forget", "subject-1", "--token", make_token(home, OPERATOR))
    assert operator.exit_code == 0, operator.output
    log = [(e.actor, e.decision) for e in entries(home, "control.forget")]
    assert log == [("anonymous", "refused"), ("User:ann@example.com", "refused"), ("ServiceAccount:ops", "no-key")]


@pytest.mark.usefixtures("shared")
def test_token_administration_needs_an_operator_once_there_is_one(home: Path) -> None:
    # Shared state without any operator: the first operator token may be made (bootstrap).
    first = invoke(home, "token", "create", "ops", "--kind", "ServiceAccount", "--role", "operator", "--quiet")
    assert first.exit_code == 0, first.output
    operator = first.output.strip()
    refused = invoke(home, "token", "create", "eve@example.com")
    assert refused.exit_code != 0 and "to administer the tokens of the mesh needs a token" in refused.output
    made = invoke(home, "token", "create", "eve@example.com", "--quiet", "--token", operator)
    assert made.exit_code == 0, made.output
    eve = made.output.strip()
    assert invoke(home, "token", "list", "--token", eve).exit_code != 0  # eve holds no role
    listing = invoke(home, "token", "list", "--token", operator)
    assert listing.exit_code == 0 and "operator" in listing.output
    made_by = [(e.actor, e.decision) for e in entries(home, "control.token-create")]
    assert made_by == [("bootstrap", "ok"), ("ServiceAccount:ops", "ok")]
    refusals = [(e.actor, e.decision) for e in entries(home, "control.tokens")]
    assert refusals == [("anonymous", "refused"), ("User:eve@example.com", "refused")]


@pytest.mark.usefixtures("shared")
def test_retire_and_backfill_need_the_owner_or_an_operator(home: Path) -> None:
    window = ("--since", "2026-01-01", "--until", "2026-01-02")
    refused = invoke(home, "backfill", "sales/shop", *window, "--token", make_token(home, ANALYST))
    assert refused.exit_code != 0 and "may not backfill dp://sales/shop" in refused.output
    done = invoke(home, "backfill", "sales/shop", *window, "--token", make_token(home, OWNER))
    assert done.exit_code == 0, done.output
    assert invoke(home, "retire", "sales/shop@0", "--token", make_token(home, ANALYST)).exit_code != 0
    retired = invoke(home, "retire", "sales/shop@0", "--token", make_token(home, OPERATOR))
    assert retired.exit_code == 0, retired.output
    assert [(e.actor, e.decision) for e in entries(home, "control.backfill")] == [
        ("User:ann@example.com", "refused"),
        ("User:me@example.com", "ok"),
    ]
    assert [(e.actor, e.decision) for e in entries(home, "control.retire")][-1] == ("ServiceAccount:ops", "ok")


@pytest.mark.usefixtures("shared")
def test_the_audit_log_is_for_operators_and_each_product_for_its_owners(home: Path) -> None:
    assert invoke(home, "audit").exit_code != 0
    assert invoke(home, "audit", "--token", make_token(home, ANALYST)).exit_code != 0
    assert invoke(home, "audit", "--token", make_token(home, OPERATOR)).exit_code == 0
    owner = make_token(home, OWNER)
    assert invoke(home, "audit", "--resource", "sales/shop", "--token", owner).exit_code == 0
    assert invoke(home, "audit", "--token", owner).exit_code != 0  # the whole log is not the owner's


def test_clear_text_operator_tokens_migrate_to_hashed_api_tokens(home: Path, tmp_path: Path) -> None:
    (home / "tokens.yaml").write_text(
        "s3cret-governance: {name: platform, role: governance}\n"
        "s3cret-owner: {name: shop-ci, role: owner, products: [sales/shop]}\n"
    )
    result = invoke(home, "token", "migrate")
    assert result.exit_code == 0, result.output
    assert not (home / "tokens.yaml").exists()  # no secret in clear text left on disk
    assert "shop-ci (owner of sales/shop): not converted" in result.output
    secret = next(line for line in result.output.split() if line.startswith("hxm_"))
    with Workspace(Settings.load(home)) as workspace:
        db = workspace.runtime.state.db
        principal = tokens.authenticate(db, secret)
        stored = [t for t in tokens.list_tokens(db) if t.principal.id == "platform"]
    assert principal == Principal("platform", "ServiceAccount", roles=frozenset({"operator", "governance"}))
    assert len(stored) == 1 and "s3cret" not in str(stored)
