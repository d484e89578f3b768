"""Real nodes for tests: a workspace with products, and ``hexmesh serve`` in a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from hexmesh.lifecycle import Workspace, init_product
from tests import children
from tests.stacks import Stack

HEXMESH = str(Path(sys.executable).parent / "hexmesh")
TOKEN = "governance-secret"
OWNER_TOKEN = "other-owner-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def add_orders(product: Path, day: str, rows: int, first_id: int) -> None:
    """Write one more day of orders into the product's source folder."""
    lines = ["order_id,customer_id,ordered_at,status,amount"]
    statuses = ("placed", "shipped", "returned")
    for i in range(rows):
        minute = i % 1440
        lines.append(
            f"{first_id + i},{100 + i % 97},{day} {minute // 60:02d}:{minute % 60:02d}:00,"
            f"{statuses[i % 3]},{(i % 500) + 0.5:.2f}"
        )
    (product / "data" / f"orders-{day}.csv").write_text("\n".join(lines) + "\n")


def build_workspace(root: Path, *, big: bool = True, stack: Stack | None = None) -> tuple[Path, Path]:
    """sales/shop (3 rows) and sales/big (one 200k-row snapshot); return home and shop's folder.

    With ``stack``, the home's settings.yaml puts the workspace on that stack (tests/stacks.py).
    """
    home = stack.home(root / "home") if stack is not None else root / "home"
    shop = root / "shop"
    init_product(shop, domain="sales", name="shop", owner="shop-team@example.com")
    folders = [shop]
    if big:
        folders.append(root / "big")
        init_product(folders[1], domain="sales", name="big", owner="big-team@example.com")
        for old in (folders[1] / "data").iterdir():
            old.unlink()
        add_orders(folders[1], "2026-01-01", 200_000, 1)
    workspace = Workspace.open(home)
    try:
        workspace.deploy(folders)
        for folder in folders:
            workspace.run(f"sales/{folder.name}")
    finally:
        workspace.close()
    return home, shop


@dataclass
class RunningNode:
    url: str
    home: Path
    process: subprocess.Popen[bytes]

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)  # type: ignore[arg-type]


def _auth_default(extra: tuple[str, ...]) -> tuple[str, ...]:
    """Tests that do not ask for ``--auth`` exercise the open node (``--no-auth``, off by default)."""
    return extra if "--auth" in extra or "--no-auth" in extra else ("--no-auth", *extra)


@contextmanager
def serve(home: Path, *extra: str, port: int | None = None) -> Iterator[RunningNode]:
    """Run ``hexmesh serve`` until the block ends; wait until it answers."""
    port = port or free_port()
    env = {**os.environ, "HEXMESH_TOKENS": f"{TOKEN}=governance,{OWNER_TOKEN}=owner:other/product"}
    log = (home / f"serve-{port}.log").open("wb")
    process = children.start(
        [
            HEXMESH,
            "serve",
            "--http-port",
            str(port),
            "--home",
            str(home),
            "--log-level",
            "warning",
            "--sql-port",
            "0",
            "--no-schedule",
            *_auth_default(extra),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if process.poll() is not None:
                raise RuntimeError((home / f"serve-{port}.log").read_text())
            try:
                if httpx.get(url + "/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield RunningNode(url, home, process)
    finally:
        children.stop(process, timeout=15)
        log.close()


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HEXMESH, *args], capture_output=True, text=True, check=True)
