"""Two real nodes that enforce policies: a peer shares what its policies let the reading node discover.

Node B serves a product with no public metadata. Node A, reading B anonymously, indexes nothing of
it; node A' with ``HEXMESH_PEER_TOKEN`` (an API token of B's ``mesh-index`` service account, which
B's mesh policy lets discover) indexes it, and its web UI shows it — as B disclosed it to that
principal, not more.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import httpx
import pytest

from hexmesh.governance import Principal
from hexmesh.lifecycle import Workspace
from hexmesh.product.policy import tokens
from tests.server.nodes import HEXMESH, free_port
from tests.serving.test_federated_nodes import eventually, registry, workspace

pytestmark = pytest.mark.slow
POLICIES = "access:\n  - {id: indexer, allow: {serviceAccount: mesh-index}, actions: [discover]}\n"


@contextmanager
def node(home: Path, *options: str, env: dict[str, str] | None = None) -> Iterator[str]:
    port = free_port()
    log = (home / f"serve-{port}.log").open("wb")
    process = subprocess.Popen(
        [
            HEXMESH,
            "serve",
            "--http-port",
            str(port),
            "--sql-port",
            "0",
            "--no-schedule",
            "--log-level",
            "warning",
            "--home",
            str(home),
            *options,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "HEXMESH_MESH_REFRESH": "1", **(env or {})},
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    try:
        eventually(partial(_answers, url), f"the node at {url} answers")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def _read(url: str, peer: str) -> bool:
    """Whether the node at ``url`` has read ``peer``'s catalog successfully at least once."""
    return any(p["url"] == peer and p["lastOk"] for p in registry(url)["peers"])


def _peer(url: str, peer: str) -> dict[str, object]:
    return next((p for p in registry(url)["peers"] if p["url"] == peer), {})


def _keys(url: str) -> list[str]:
    return sorted(p["key"] for p in registry(url)["products"])


def test_a_peer_token_indexes_what_the_peer_lets_it_discover(tmp_path: Path) -> None:
    b_home = workspace(tmp_path / "b", "billing", "invoices")
    (b_home / "governance").mkdir()
    (b_home / "governance" / "policies.yaml").write_text(POLICIES)
    with Workspace.open(b_home) as b:
        secret, _ = tokens.create_token(b.runtime.state.db, Principal("mesh-index", "ServiceAccount"))
    a_home, indexer_home = workspace(tmp_path / "a", "sales", "shop"), workspace(tmp_path / "a2", "sales", "shop")
    with node(b_home) as b_url:
        assert httpx.get(b_url + "/", timeout=10).json()["dcat:service"] == []  # nothing public on B
        with (
            node(a_home, "--no-auth", env={"HEXMESH_PEERS": b_url}) as anonymous,
            node(indexer_home, "--no-auth", env={"HEXMESH_PEERS": b_url, "HEXMESH_PEER_TOKEN": secret}) as indexer,
        ):
            eventually(lambda: _keys(indexer) == ["billing/invoices", "sales/shop"], "A' indexes B's product")
            eventually(lambda: _read(anonymous, b_url), "A reads B's catalog")
            assert _keys(anonymous) == ["sales/shop"]  # read anonymously, B shares nothing
            page = httpx.get(indexer + "/ui/products/billing/invoices", timeout=30)
            assert page.status_code == 200 and "invoices" in page.text
            # B disclosed its columns to the indexer (discover), but no reading: no connection details.
            assert "customer_id" in page.text
        # A wrong peer token is not a silent empty index: the peer is listed with B's refusal.
        with node(a_home, "--no-auth", env={"HEXMESH_PEERS": b_url, "HEXMESH_PEER_TOKEN": "hxm_0_wrong"}) as wrong:
            eventually(lambda: "401" in str(_peer(wrong, b_url).get("lastError")), "the refusal is shown")
            assert _keys(wrong) == ["sales/shop"]
