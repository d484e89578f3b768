"""Three real nodes on this machine: each finds every product; one stops and comes back."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from hexmesh.lifecycle import Workspace, init_product
from tests.server.nodes import HEXMESH, free_port

pytestmark = pytest.mark.slow
QUIET = ("--log-level", "warning", "--home")
NODES = {"a": ("sales", "shop"), "b": ("billing", "invoices"), "c": ("crm", "customers")}


def workspace(root: Path, domain: str, name: str) -> Path:
    home = root / f"{domain}-home"
    folder = init_product(root / name, domain=domain, name=name, owner=f"{name}@example.com")[0].parent
    with Workspace.open(home) as ws:
        ws.deploy([folder])
        ws.run(f"{domain}/{name}")
    return home


def registry(node: str) -> dict[str, Any]:
    response = httpx.get(node + "/api/registry", timeout=10)
    response.raise_for_status()
    return dict(response.json())


def eventually(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Poll ``check`` until it holds; the deadline only bounds a hang, it asserts no speed."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.2)


def stale_of(node: str) -> dict[str, bool]:
    return {p["key"]: p["stale"] for p in registry(node)["products"]}


def shows(node: str, expected: dict[str, bool]) -> bool:
    """Whether ``node`` lists exactly these products with these stale flags."""
    return stale_of(node) == expected


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("three")
    return {node: workspace(root, *product) for node, product in NODES.items()}


@contextmanager
def nodes(specs: dict[str, tuple[Path, int, str]]) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """Start ``hexmesh serve`` for every (home, port, peers) at once; stop them at the end."""
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, (home, port, peers) in specs.items():
            env = {**os.environ, "HEXMESH_PEERS": peers, "HEXMESH_MESH_REFRESH": "1"}
            log = (home / f"serve-{port}.log").open("wb")
            processes[name] = subprocess.Popen(
                [
                    HEXMESH,
                    "serve",
                    "--http-port",
                    str(port),
                    "--sql-port",
                    "0",
                    "--no-schedule",
                    "--no-auth",
                    *QUIET,
                    str(home),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
            log.close()
        urls = {name: f"http://127.0.0.1:{port}" for name, (_h, port, _p) in specs.items()}
        for name, url in urls.items():
            eventually(partial(_answers, url), f"node {name} answers")
        yield processes
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            process.wait(timeout=15)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url + "/api/registry", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_three_nodes_find_each_other_survive_a_stop_and_recover(homes: dict[str, Path]) -> None:
    ports = {node: free_port() for node in NODES}
    urls = {node: f"http://127.0.0.1:{port}" for node, port in ports.items()}
    # Only one seed each: a knows b, b knows a, c knows a. c announces itself to a, and a, b
    # and c learn the rest from each other's peer lists.
    seeds = {"a": urls["b"], "b": urls["a"], "c": urls["a"]}
    spec = {node: (homes[node], ports[node], seeds[node]) for node in NODES}
    everything = {f"{d}/{p}": False for d, p in NODES.values()}
    with nodes(spec) as processes:
        for node, url in urls.items():
            eventually(partial(shows, url, everything), f"{node} indexes all three products")
        hits = httpx.get(urls["a"] + "/api/search", params={"q": "customrs"}).json()
        assert [h["key"] for h in hits["hits"]] == ["crm/customers"]
        assert hits["corrections"] == {"customrs": ["customers"]}
        peers_of_a = {p["url"]: p for p in registry(urls["a"])["peers"]}
        assert peers_of_a[urls["c"]]["announced"] is True
        processes["c"].terminate()
        processes["c"].wait(timeout=15)

        # Node c stopped: a and b keep serving, and show c's product as stale (kept, not dropped).
        for node in ("a", "b"):
            eventually(partial(shows, urls[node], {**everything, "crm/customers": True}), f"{node} sees c stale")
            assert stale_of(urls[node])["sales/shop"] is False
            peers = {p["url"]: p for p in registry(urls[node])["peers"]}
            assert peers[urls["c"]]["status"] == "unreachable"
        assert httpx.get(urls["a"] + "/products/sales/shop").status_code == 200
        page = httpx.get(urls["b"] + "/ui/products/crm/customers")
        assert page.status_code == 200 and "not answering" in page.text
        assert "stale" in httpx.get(urls["a"] + "/ui?q=customers").text
        bad = httpx.post(urls["a"] + "/api/peers", json={"url": "node-d:80"}, timeout=10)
        assert bad.status_code == 400
        assert bad.headers["content-type"] == "application/problem+json"
        assert bad.json()["detail"].startswith("peer 'node-d:80' is not an http(s) URL")

        # Node c comes back on the same port: the others recover, and so does c.
        with nodes({"c": spec["c"]}):
            for node, url in urls.items():
                eventually(partial(shows, url, everything), f"{node} sees every product fresh again")
        assert (homes["c"] / "mesh" / "registry.json").is_file()
