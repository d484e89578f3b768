"""schemathesis over the node's whole OpenAPI, once per kind of caller: no 5xx, no response or status
the description does not promise, no schema-valid input refused without reason.

A node served with ``--auth`` answers differently to each principal kind, so each gets its own run:
anonymous, a consumer, the product's owner, a service account and the governance operator. Every
run includes the stateful phase (OpenAPI links) and is bounded in examples and in time. The
Server-Sent Events routes are read as finite streams of an existing product (``schemathesis.toml``
says why, and which refusals the schema cannot state). schemathesis runs as its CLI: its pytest
plugin does not load under pytest 9.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hexmesh.governance import Principal
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
from hexmesh.product.policy import tokens
from tests.server.nodes import TOKEN, build_workspace, serve

ST = shutil.which("st", path=str(Path(sys.executable).parent))
CONFIG = Path(__file__).with_name("schemathesis.toml")
#: Seconds each principal kind is fuzzed for; five kinds stay well under two minutes in all.
BUDGET = 15


def principals(home: Path) -> dict[str, str | None]:
    """A bearer token per principal kind (None: anonymous)."""
    workspace = Workspace(Settings.load(home))
    try:
        db = workspace.runtime.state.db
        # Those who may change the mesh go last: the owner's run may pause or retire the product.
        return {
            "anonymous": None,
            "consumer": tokens.create_token(db, Principal("ann@example.com", "User"))[0],
            "service": tokens.create_token(db, Principal("nightly-etl", "ServiceAccount"))[0],
            "governance": TOKEN,
            "owner": tokens.create_token(db, Principal("shop-team@example.com", "User"))[0],
        }
    finally:
        workspace.close()


@pytest.mark.slow
@pytest.mark.skipif(ST is None, reason="schemathesis is not installed (pip install schemathesis)")
def test_api_conforms_to_its_description_for_every_kind_of_caller(tmp_path: Path) -> None:
    assert ST is not None
    home, _ = build_workspace(tmp_path, big=False)
    failed = {}
    kinds = principals(home)
    with serve(home, "--auth") as node:
        for kind, token in kinds.items():
            command = [ST, "--config-file", str(CONFIG), "run", node.url + "/openapi.json", "--checks", "all"]
            command += ["--max-examples", "10", "--seed", "4"]
            command += ["--max-time", str(BUDGET), "--request-timeout", "20", "--workers", "1", "--no-color"]
            command += ["-H", f"Authorization: Bearer {token}"] if token else []
            result = subprocess.run(command, capture_output=True, text=True, timeout=BUDGET * 8)
            if result.returncode != 0:
                failed[kind] = result.stdout[-12000:]
    assert not failed, "\n\n".join(f"=== as {kind}:\n{out}" for kind, out in failed.items())
