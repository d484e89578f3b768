"""Restricted fields on a node served with ``--auth``: opened before the policies mask them, on every port.

A policy that hashes the e-mail for analysts must hash the address, never its ciphertext (whose
random nonce would make every read different), and the owner reads the address itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest

import hexmesh
from hexmesh.governance import Principal, apply_plan
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
from hexmesh.product.policy import PolicySidecar
from tests.cli.test_serve import token
from tests.governance.test_encryption_ports import EMAILS, SPEC, SQL, _csv, _write
from tests.server.nodes import RunningNode, free_port, serve

GOVERNED = SPEC.replace(
    "policies:\n",
    "policies:\n  access:\n    - {allow: {group: analytics}, ports: [profiles]}\n",
)
OWNER = "people@example.com"
ANALYST = Principal("ann@example.com", groups=frozenset({"analytics"}))
PROFILES = "/products/people/profiles/ports/profiles"


@dataclass
class Served:
    node: RunningNode
    home: Path
    tokens: dict[str, str]
    hashed: dict[str, str]  # user_id → what the analyst's plan makes of the plaintext address


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("sealed-auth")
    home = root / "home"
    folder = _write(root / "profiles", GOVERNED, SQL, {"day1.csv": _csv([1, 2, 3], "2026-01-01")})
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("HEXMESH_MASTER_KEY", raising=False)
        workspace = Workspace(Settings.load(home))
        try:
            workspace.deploy([folder])
            workspace.run("people/profiles")
            # The expected view, computed by the policy code itself on the plaintext rows.
            sidecar = PolicySidecar(workspace.runtime)
            product = workspace.deployed()["people/profiles"]
            plan = sidecar.plan(product, ANALYST, "profiles")
            plain = pa.table({"user_id": list(EMAILS)[:3], "email": [EMAILS[u] for u in list(EMAILS)[:3]]})
            shown = apply_plan(plain, plan, sidecar.secret).to_pylist()
        finally:
            workspace.close()
    tokens = {"owner": token(home, OWNER), "analyst": ""}
    from typer.testing import CliRunner

    from hexmesh.cli.main import app

    created = CliRunner().invoke(app, ["token", "create", ANALYST.id, "--group", "analytics", "--home", str(home)])
    assert created.exit_code == 0, created.output
    tokens["analyst"] = next(w for w in created.output.split() if w.startswith("hxm_"))
    with serve(home, "--auth", "--sql-port", str(free_port())) as node:
        yield Served(node, home, tokens, {r["user_id"]: r["email"] for r in shown})


def _views(served: Served, who: str) -> dict[str, dict[str, Any]]:
    """user_id → email as ``who`` reads it over the client (files), SQL, Parquet downloads and events."""
    client = hexmesh.connect(served.node.url, token=served.tokens[who])
    try:
        port = client.port("dp://people/profiles/profiles")
        seen = {"client": port.read().to_pylist()}
        seen["sql"] = client.sql("select user_id, email from people.profiles__profiles").to_pylist()
        headers = {"Authorization": f"Bearer {served.tokens[who]}"}
        with httpx.Client(base_url=served.node.url, timeout=60, follow_redirects=True, headers=headers) as http:
            response = http.get(f"{PROFILES}/data", params={"format": "jsonl"})
            assert response.status_code == 200, response.text
            seen["files"] = [json.loads(line) for line in response.text.splitlines()]
        deadline = time.monotonic() + 120
        events: list[dict[str, Any]] = []
        while len(events) < 3 and time.monotonic() < deadline:
            events = [e["data"] for e in port.subscribe(start="beginning", follow=False) if "row" in e["type"]]
            time.sleep(0.2 if len(events) < 3 else 0)
        seen["events"] = events
    finally:
        client.close()
    return {surface: {r["user_id"]: r["email"] for r in rows} for surface, rows in seen.items()}


def test_the_owner_reads_the_addresses_on_every_port(served: Served) -> None:
    expected = {u: EMAILS[u] for u in list(EMAILS)[:3]}
    for surface, emails in _views(served, "owner").items():
        assert emails == expected, surface


def test_a_masking_policy_applies_to_the_plaintext_not_the_ciphertext(served: Served) -> None:
    assert all(v and v not in EMAILS.values() and not v.startswith("hxm1:") for v in served.hashed.values())
    for surface, emails in _views(served, "analyst").items():
        # Hashing the sealed value would give a different answer on every read (random nonces).
        assert {u: v for u, v in emails.items() if u in served.hashed} == served.hashed, surface
