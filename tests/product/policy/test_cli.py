"""``hexmesh token|access|forget|audit`` through typer's CliRunner, on a real workspace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hexmesh.cli.main import app
from hexmesh.infra.keys import KeyStore, generate_master_key, master_key
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
from tests.product.policy.conftest import SPEC, SQL, rows_csv
from tests.product.sql.conftest import write_product

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.delenv("HEXMESH_TOKEN", raising=False)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = write_product(tmp_path / "orders", SPEC, SQL, rows_csv())
    with Workspace(Settings.load(tmp_path / "ws")) as ws:
        ws.deploy([folder])
    return tmp_path / "ws"


def invoke(home: Path, *args: str) -> str:
    result = runner.invoke(app, [*args, "--home", str(home)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _token(output: str) -> str:
    match = re.search(r"hxm_[0-9a-f]{16}_\S+", output)
    assert match is not None, output
    return match.group(0)


def test_tokens_are_created_listed_and_revoked(home: Path) -> None:
    created = invoke(home, "token", "create", "ann", "--group", "analysts", "--attribute", "region=EU", "--ttl", "30d")
    token = _token(created)
    token_id = token.split("_")[1]
    listed = invoke(home, "token", "list")
    assert token_id in listed and "User:ann" in listed and token not in listed
    assert f"revoked token {token_id}" in invoke(home, "token", "revoke", token_id)
    bad = runner.invoke(app, ["token", "create", "x", "--ttl", "soon", "--home", str(home)])
    assert bad.exit_code != 0 and "30d" in bad.output


def test_a_request_is_approved_by_an_owner_and_audited(home: Path) -> None:
    asker = _token(invoke(home, "token", "create", "nia"))
    owner = _token(invoke(home, "token", "create", "sales@example.com"))
    asked = invoke(
        home, "access", "request", "dp://sales/orders/orders", "--purpose", "campaign", "--note", "Q3", "--token", asker
    )
    request_id = re.search(r"request (\S+) is pending", asked)
    assert request_id is not None
    refused = runner.invoke(app, ["access", "approve", request_id.group(1), "--token", asker, "--home", str(home)])
    assert refused.exit_code != 0 and "only its owners" in refused.output
    approved = invoke(home, "access", "approve", request_id.group(1), "--note", "ok", "--days", "7", "--token", owner)
    assert "approved until" in approved
    assert "approved" in invoke(home, "access", "list", "--product", "sales/orders")
    log = invoke(home, "audit", "--json")
    assert '"access.request"' in log and '"access.approve"' in log


def test_a_denial_needs_a_note(home: Path) -> None:
    asker = _token(invoke(home, "token", "create", "nia"))
    owner = _token(invoke(home, "token", "create", "sales@example.com"))
    asked = invoke(home, "access", "request", "dp://sales/orders/orders", "--purpose", "x", "--token", asker)
    request_id = asked.split()[1]
    without = runner.invoke(app, ["access", "deny", request_id, "--token", owner, "--home", str(home)])
    assert without.exit_code != 0 and "say why" in without.output
    assert "denied" in invoke(home, "access", "deny", request_id, "--note", "not for this", "--token", owner)


def test_acting_commands_need_a_token(home: Path) -> None:
    result = runner.invoke(
        app, ["access", "request", "dp://sales/orders/orders", "--purpose", "x", "--home", str(home)], env={}
    )
    assert result.exit_code != 0 and "--token" in result.output


def test_forget_destroys_the_subjects_key(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEXMESH_MASTER_KEY", generate_master_key())
    with Workspace(Settings.load(home)) as ws:
        KeyStore(ws.runtime.state.db, master_key(ws.settings)).ensure(["subject-7"])
    assert "key destroyed" in invoke(home, "forget", "subject-7")
    with Workspace(Settings.load(home)) as ws:
        store = KeyStore(ws.runtime.state.db, master_key(ws.settings))
        assert store.is_forgotten("subject-7") and store.keys(["subject-7"]) == {}
    assert "control.forget" in invoke(home, "audit")
