"""Helpers of the node benchmarks: a product with N orders, and ``hexmesh serve`` in a subprocess."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from hexmesh.lifecycle import Workspace, init_product

HEXMESH = str(Path(sys.executable).parent / "hexmesh")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_orders(folder: Path, day: str, rows: int, first_id: int) -> None:
    statuses = ("placed", "shipped", "returned")
    with (folder / "data" / f"orders-{day}.csv").open("w") as out:
        out.write("order_id,customer_id,ordered_at,status,amount\n")
        for i in range(rows):
            minute = i % 1440
            out.write(
                f"{first_id + i},{100 + i % 997},{day} {minute // 60:02d}:{minute % 60:02d}:00,"
                f"{statuses[i % 3]},{(i % 500) + 0.5:.2f}\n"
            )


def orders_workspace(root: Path, rows: int) -> tuple[Path, Path]:
    """A workspace with sales/shop holding ``rows`` orders in one snapshot; return home, folder."""
    home, shop = root / "home", root / "shop"
    init_product(shop, domain="sales", name="shop", owner="bench@example.com")
    for old in (shop / "data").iterdir():
        old.unlink()
    write_orders(shop, "2026-01-01", rows, 1)
    with Workspace.open(home) as workspace:
        workspace.deploy([shop])
        workspace.run("sales/shop")
    return home, shop


@contextmanager
def serve(home: Path, *extra: str) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
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
            *(extra if "--auth" in extra else ("--no-auth", *extra)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    cut = statistics.quantiles(ordered, n=100) if len(ordered) > 1 else ordered * 99
    return {"p50": cut[49], "p95": cut[94], "p99": cut[98], "max": ordered[-1]}
