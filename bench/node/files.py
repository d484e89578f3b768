"""Files port throughput: the SF10 play-events port downloaded as Parquet over HTTP against local disk.

Baseline in the same run: pyarrow reading the snapshot's own Parquet data files from local disk
into a table. Over HTTP, each download is measured twice: bytes received, and bytes received
and decoded into the same table (what a client reading Parquet over HTTP pays).
Goal (issue 4): HTTP at least 0.5× the local throughput. Writes bench/results/node-files.json.

The node serves the cached SF10 workspace of ``bench/sf10.py`` from a home of its own (its
settings point at the SF10 state, catalog and warehouse), so the benchmark writes nothing into
the shared workspace, and it runs without its event emitter (10.5M events are not what is
measured here). Run: ``python -m bench.node.files [--orders N]`` (``--orders``: N synthetic
orders instead of SF10, for a quick run).
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq

from bench.node._node import free_port, orders_workspace
from bench.report import Result, repeats, show
from hexmesh.lifecycle import Workspace


def _local(home: Path, address: str) -> tuple[float, int, int, int]:
    """Seconds to read the snapshot's data files into tables; rows, bytes, files."""
    with Workspace.open(home) as workspace:
        reader = workspace.reader(address)
        publication = reader.publication()
        assert publication is not None
        files = reader.runtime.tables.data_files(reader.record.table_id, publication.snapshot_id)
    paths = [f.file_path.removeprefix("file://") for f in files]
    started = time.perf_counter()
    rows = sum(pq.read_table(p).num_rows for p in paths)
    elapsed = time.perf_counter() - started
    return elapsed, rows, sum(int(f.file_size_in_bytes) for f in files), len(files)


def _download(url: str, params: dict[str, str], decode: bool) -> tuple[float, int, int]:
    """Seconds, bytes and (when decoded) rows of one download; follows redirects like clients do."""
    started = time.perf_counter()
    body = bytearray()
    with httpx.stream("GET", url, params=params, timeout=None, follow_redirects=True) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            body += chunk
    rows = pq.read_table(io.BytesIO(body)).num_rows if decode else 0
    return time.perf_counter() - started, len(body), rows


@contextmanager
def _node(data_home: Path, root: Path) -> Iterator[str]:
    """A node over ``data_home``'s products with a home of its own, HTTP only, no emitter."""
    with Workspace.open(data_home) as workspace:
        settings = workspace.settings
    home = root / "node-home"
    home.mkdir()
    (home / "settings.yaml").write_text(
        f"state_url: {settings.state_url}\ncatalog_url: {settings.catalog_url}\n"
        f"warehouse: {settings.warehouse}\ncatalog_name: {settings.catalog_name}\n"
    )
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.node._http_only", str(home), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=Path(__file__).parents[2],
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=60)


def _workspace(root: Path, orders: int | None) -> tuple[Path, str, str, str, str]:
    """Home, port address, its HTTP path, a label and a never-negative integer column."""
    if orders:
        home, _ = orders_workspace(root, orders)
        path = "/products/sales/shop/ports/orders"
        return home, "dp://sales/shop/orders", path, f"{orders:,} orders", "order_id"
    from bench.sf10 import play_events

    workspace, _table = play_events()
    with workspace:
        home = workspace.settings.home
    path = "/products/podcasts/play-events/ports/plays"
    return home, "dp://podcasts/play-events/plays", path, "SF10 play-events/plays", "play_id"


def run(orders: int | None = None) -> Result:
    load_before = os.getloadavg()
    times = max(2, repeats())
    with tempfile.TemporaryDirectory() as tmp:
        home, address, path, label, key = _workspace(Path(tmp), orders)
        local_s, rows, local_bytes, files = min((_local(home, address) for _ in range(times)), key=lambda r: r[0])
        figures: dict[str, dict[str, Any]] = {}
        with _node(home, Path(tmp)) as base:
            port = base + path
            snapshot = httpx.get(f"{port}/snapshots", timeout=60).json()[-1]["snapshot_id"]
            cases: list[tuple[str, str, dict[str, str], bool, int]] = [
                ("parquet, unpinned URL (307 → pinned file), bytes", f"{port}/data", {}, False, times),
                ("parquet, unpinned URL (307 → pinned file), decoded", f"{port}/data", {}, True, times),
                ("parquet, pinned URL, bytes", f"{port}/snapshots/{snapshot}/data", {}, False, times),
                ("parquet, pinned URL, decoded", f"{port}/snapshots/{snapshot}/data", {}, True, times),
                # Streamed reads encode every row on the way: measured once, they are slow.
                ("parquet, streamed (filtered), decoded", f"{port}/data", {"filter": f"{key} >= 0"}, True, 1),
                ("arrow IPC, streamed, bytes", f"{port}/data", {"format": "arrow"}, False, 1),
            ]
            for name, url, params, decode, repeat in cases:
                if repeat > 1:
                    _download(url, params, decode=False)  # warm-up: the first one writes the pinned file
                seconds, size, got = min((_download(url, params, decode) for _ in range(repeat)), key=lambda r: r[0])
                assert not decode or got == rows, f"{name}: {got} rows, expected {rows}"
                figures[name] = {
                    "seconds": seconds,
                    "bytes": size,
                    "rows_per_s": rows / seconds,
                    "ratio_vs_local": local_s / seconds,
                }
    headline = [(f"local read ({label}, {files} files)", f"{rows / local_s:,.0f} rows/s")]
    headline += [(k, f"{v['rows_per_s']:,.0f} rows/s ({v['ratio_vs_local']:.2f}× local)") for k, v in figures.items()]
    headline.append(("load average (1 min) before / after", f"{load_before[0]:.1f} / {os.getloadavg()[0]:.1f}"))
    return Result(
        "node-files",
        "HTTP download ≥ 0.5× local read",
        headline,
        {
            "data": label,
            "rows": rows,
            "repeats": times,
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "local": {"seconds": local_s, "bytes": local_bytes, "files": files, "rows_per_s": rows / local_s},
            "http": figures,
        },
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=None, help="synthetic orders instead of SF10")
    result = run(parser.parse_args().orders)
    print(result.write())
    show([result])
