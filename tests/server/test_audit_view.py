"""Owners see every read of their ports in the audit view, over HTTP and with ``hexmesh audit``.

Reads used to be stored under ``sales/shop/orders`` while the view asked for ``dp://sales/shop``:
the owner's view showed control actions and none of the reads.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from hexmesh.cli.main import app
from hexmesh.infra.settings import Settings
from hexmesh.infra.state import audit
from hexmesh.lifecycle import Workspace
from tests.cli.test_serve import bearer, serving, token, with_policies
from tests.server.test_shaped_reads import POLICIES, analyst_token

PORT = "/products/sales/shop/ports/orders"


def test_the_owner_sees_every_read_of_its_ports_over_http_and_the_cli(tmp_path: Path) -> None:
    with serving(tmp_path, "--auth", spec=with_policies(POLICIES)) as (http_port, _):
        home = tmp_path / "ws"
        analyst, owner, stranger = analyst_token(home), token(home, "me@example.com"), token(home, "eve@example.com")
        with httpx.Client(base_url=f"http://127.0.0.1:{http_port}", timeout=30) as http:
            assert http.get(f"{PORT}/data", headers=bearer(analyst), params={"filter": "status = 'placed'"}).is_success
            assert http.get(f"{PORT}/data", headers=bearer(stranger)).status_code == 403
            for _ in range(100):  # the emitter appends the rows shortly after start
                if "data: {" in http.get(f"{PORT}/events", headers=bearer(analyst), params={"follow": "false"}).text:
                    break
                time.sleep(0.1)
            answer = http.get("/products/sales/shop/control/audit", headers=bearer(owner), params={"limit": 1000})
            assert answer.status_code == 200, answer.text
            entries = answer.json()
            assert http.get("/products/sales/shop/control/audit", headers=bearer(analyst)).status_code == 403
    reads = {(e["actor"], e["action"], e["decision"]) for e in entries if e["resource"] == "dp://sales/shop/orders"}
    assert ("User:ann@example.com", "files.read", "allow") in reads
    assert ("User:ann@example.com", "events.read", "allow") in reads
    assert ("User:eve@example.com", "files.read", "deny") in reads
    [filtered] = [e for e in entries if e["details"].get("request", {}).get("filter")]
    assert filtered["details"]["request"] == {"filter": "status = 'placed'"}

    result = CliRunner().invoke(app, ["audit", "--resource", "sales/shop", "--json", "--home", str(home)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert {("User:ann@example.com", "files.read"), ("User:eve@example.com", "files.read")} <= {
        (e["actor"], e["action"]) for e in lines
    }
    assert all(e["resource"].startswith("dp://sales/shop") for e in lines)


def test_entries_written_before_the_dp_key_are_still_found(tmp_path: Path) -> None:
    with Workspace(Settings.defaults(tmp_path)) as workspace:
        db = workspace.runtime.state.db
        audit.append(db, audit.AuditEntry("User:old", "files.read", "sales/shop/orders", "allow"))
        audit.append(db, audit.AuditEntry("User:new", "files.read", "dp://sales/shop/orders", "allow"))
        audit.append(db, audit.AuditEntry("User:other", "files.read", "sales/shop-v2/orders", "allow"))
        found = [e.actor for e in audit.query(db, under="dp://sales/shop")]
    assert found == ["User:old", "User:new"]
