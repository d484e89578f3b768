"""``POST /api/peers`` over HTTP: who may announce, and each refusal as a clear problem document."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from hexmesh.lifecycle import Workspace
from hexmesh.server import create_app
from hexmesh.serving import Node, NodeOptions
from tests.mesh.peers import entry_document, fake_peer
from tests.server.ui.nodes import ServedNode, served

TOKENS = {"HEXMESH_TOKENS": "gov-secret=governance,own-secret=owner:sales/shop"}
GOV = {"Authorization": "Bearer gov-secret"}


@pytest.fixture(scope="module")
def auth_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedNode]:
    home = tmp_path_factory.mktemp("announce") / "ws"
    Workspace.open(home).close()
    with served(home, "--auth", env=TOKENS) as node:
        yield node


def announce(node: ServedNode, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(node.url + "/api/peers", json={"url": url}, headers=headers or {}, timeout=60)


def problem(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return str(response.json()["detail"])


def test_with_auth_announcing_needs_a_governance_token(auth_node: ServedNode) -> None:
    anonymous = announce(auth_node, "http://127.0.0.1:9")
    assert "needs a governance token because this node serves with --auth" in problem(anonymous, 401)
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    owner = announce(auth_node, "http://127.0.0.1:9", {"Authorization": "Bearer own-secret"})
    assert "may not announce a peer to the mesh; only a principal with the operator role" in problem(owner, 403)
    forged = announce(auth_node, "http://127.0.0.1:9", {"Authorization": "Bearer forged"})
    assert "the token is not valid" in problem(forged, 401)
    peers = httpx.get(auth_node.url + "/api/peers", timeout=60).json()
    assert "http://127.0.0.1:9" not in [p["url"] for p in peers]  # nothing was added


def test_a_governance_token_announces_once_then_is_rate_limited(auth_node: ServedNode) -> None:
    with fake_peer({"sales/orders": entry_document("sales", "orders")}) as peer:
        first = announce(auth_node, peer.url, GOV)
        assert first.status_code == 202 and first.json()["status"] == "ok"
        again = announce(auth_node, peer.url + "/", GOV)
        assert "announce again in" in problem(again, 429)
        assert 1 <= int(again.headers["Retry-After"]) <= 30
    products = httpx.get(auth_node.url + "/api/registry", timeout=60).json()["products"]
    assert "sales/orders" in [p["key"] for p in products]  # the refusal dropped nothing


@pytest.mark.parametrize(
    ("url", "status", "says"),
    [
        ("http://169.254.169.254", 403, "link-local, multicast or unspecified"),
        ("http://no-such-node.invalid:8080", 403, "does not resolve"),
        ("http://admin:hunter2@127.0.0.1:9", 400, "carries credentials"),
        ("http://127.0.0.1:9/admin", 400, "path, query or fragment"),
        ("file:///etc/passwd", 400, "is not an http(s) URL"),
    ],
)
def test_urls_a_node_must_not_fetch_are_refused(auth_node: ServedNode, url: str, status: int, says: str) -> None:
    detail = problem(announce(auth_node, url, GOV), status)
    assert says in detail and "hunter2" not in detail


def test_from_another_machine_announcing_needs_a_token_even_without_auth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEXMESH_TOKENS", TOKENS["HEXMESH_TOKENS"])
    workspace = Workspace.open(tmp_path / "ws")
    app = create_app(Node(workspace, NodeOptions(base_url="http://10.0.0.1:8080", auth=False)))

    async def send(headers: dict[str, str], url: str) -> httpx.Response:
        # A real client address from another machine: the ASGI scope carries it as uvicorn would.
        transport = httpx.ASGITransport(app=app, client=("192.0.2.50", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://10.0.0.1:8080") as client:
            return await client.post("/api/peers", json={"url": url}, headers=headers)

    def post(headers: dict[str, str], url: str) -> httpx.Response:
        # Its own thread: another test's browser may own this thread's event loop.
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(lambda: asyncio.run(send(headers, url))).result(timeout=120)

    try:
        with fake_peer({"sales/orders": entry_document("sales", "orders")}) as peer:
            refused = post({}, peer.url)
            assert "because it comes from 192.0.2.50" in problem(refused, 401)
            accepted = post(GOV, peer.url)
            assert accepted.status_code == 202 and accepted.json()["status"] == "ok"
    finally:
        workspace.close()
