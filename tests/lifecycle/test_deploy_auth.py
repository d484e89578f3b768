"""Deploying acts as a product's owner (its inputs are read as its owner team): root or the owner's token, audited."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hexmesh.cli.main import app
from hexmesh.governance import Principal
from hexmesh.infra.settings import Settings
from hexmesh.infra.state import audit
from hexmesh.lifecycle import Workspace, stewardship
from hexmesh.product.control import ForbiddenError, UnauthorizedError
from hexmesh.product.policy import tokens

SPEC = """
domain: users
name: profiles
version: {version}
owner: {owner}
description: Listeners.
inputPorts:
  - {{name: raw, source: {{format: csv, path: data}}}}
transformation: {{sql: transform.sql}}
outputPorts:
  - name: profiles
    properties:
      - {{name: user_id, logicalType: string, classification: internal}}
"""


def _product(folder: Path, owner: str = "users-team", version: str = "1.0.0") -> Path:
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "dataproduct.yaml").write_text(textwrap.dedent(SPEC.format(owner=owner, version=version)).lstrip())
    (folder / "transform.sql").write_text("select user_id from raw\n")
    (folder / "data" / "rows.csv").write_text("user_id\nu1\n")
    return folder


@pytest.fixture
def shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Workspace, dict[str, str]]]:
    """A workspace without a root (as on shared PostgreSQL state) and tokens of a few principals."""
    monkeypatch.setattr(stewardship, "workspace_root", lambda settings: None)
    with Workspace(Settings.defaults(tmp_path / "ws")) as workspace:
        db = workspace.runtime.state.db
        made = {
            "member": tokens.create_token(db, Principal("uma@example.com", groups=frozenset({"users-team"})))[0],
            "mallory": tokens.create_token(db, Principal("mallory@evil.test"))[0],
            "operator": tokens.create_token(
                db, Principal("ops", "ServiceAccount", roles=frozenset({"operator", "governance"}))
            )[0],
            "eve": tokens.create_token(db, Principal("eve@example.com", groups=frozenset({"eve-team"})))[0],
        }
        yield workspace, made


def _deploys(workspace: Workspace) -> list[tuple[str, str]]:
    entries = audit.query(workspace.runtime.state.db, action="control.deploy")
    return [(e.actor, e.decision) for e in entries]


def test_without_a_token_or_root_a_deploy_is_refused_and_audited(
    shared: tuple[Workspace, dict[str, str]], tmp_path: Path
) -> None:
    workspace, _ = shared
    with pytest.raises(UnauthorizedError, match=r"needs a token of each product's owner \(users-team\)"):
        workspace.deploy([_product(tmp_path / "p")], authorize=True)
    assert not workspace.runtime.state.versions("users/profiles")
    assert _deploys(workspace) == [("anonymous", "refused")]


@pytest.mark.parametrize("who", ["mallory", "operator"])
def test_only_a_token_of_the_owner_deploys(shared: tuple[Workspace, dict[str, str]], tmp_path: Path, who: str) -> None:
    workspace, made = shared
    with pytest.raises(ForbiddenError, match=r"may not deploy users/profiles \(owner users-team\)"):
        workspace.deploy([_product(tmp_path / "p")], token=made[who], authorize=True)
    assert not workspace.runtime.state.versions("users/profiles")
    assert [d for _, d in _deploys(workspace)] == ["refused"]


def test_the_owner_teams_token_deploys_and_the_deploy_is_audited(
    shared: tuple[Workspace, dict[str, str]], tmp_path: Path
) -> None:
    workspace, made = shared
    workspace.deploy([_product(tmp_path / "p")], token=made["member"], authorize=True)
    assert workspace.runtime.state.versions("users/profiles")
    assert _deploys(workspace) == [("User:uma@example.com", "deployed")]


def test_taking_a_product_over_needs_its_current_owner(
    shared: tuple[Workspace, dict[str, str]], tmp_path: Path
) -> None:
    workspace, made = shared
    workspace.deploy([_product(tmp_path / "p")], token=made["member"], authorize=True)
    folder = _product(tmp_path / "p", owner="eve-team", version="1.0.1")
    with pytest.raises(ForbiddenError, match=r"users/profiles \(owner eve-team\)"):
        workspace.deploy([folder], token=made["eve"], authorize=True)
    assert [v.version for v in workspace.runtime.state.versions("users/profiles")] == ["1.0.0"]


def test_hexmesh_deploy_takes_the_owners_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stewardship, "workspace_root", lambda settings: None)
    home = tmp_path / "home"
    with Workspace(Settings.load(home)) as workspace:
        token = tokens.create_token(
            workspace.runtime.state.db, Principal("uma@example.com", groups=frozenset({"users-team"}))
        )[0]
    folder = _product(tmp_path / "p")
    runner = CliRunner()
    refused = runner.invoke(app, ["deploy", str(folder), "--home", str(home)], env={"COLUMNS": "200"})
    assert refused.exit_code == UnauthorizedError.exit_code and "needs a token" in refused.output
    done = runner.invoke(app, ["deploy", str(folder), "--home", str(home), "--token", token], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    assert "deployed users/profiles 1.0.0" in done.output
