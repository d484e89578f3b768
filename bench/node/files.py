"""Files port throughput: a port downloaded as Parquet over HTTP against reading its files locally.

Baseline in the same run: pyarrow reading the snapshot's own Parquet data files from disk.
Goal (issue 4): HTTP at least 0.5× the local throughput. Writes bench/results/node-files.json.
Run: ``python -m bench.node.files [--rows N]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx
import pyarrow.parquet as pq

from bench.node._node import orders_workspace, serve
from bench.report import Result, show
from hexmesh.lifecycle import Workspace


def _local(home: Path) -> tuple[float, int, int]:
    with Workspace.open(home) as workspace:
        reader = workspace.reader("dp://sales/shop/orders")
        publication = reader.publication()
        assert publication is not None
        files = reader.runtime.tables.data_files(reader.record.table_id, publication.snapshot_id)
    paths = [f.file_path.removeprefix("file://") for f in files]
    started = time.perf_counter()
    rows = sum(pq.read_table(p).num_rows for p in paths)
    elapsed = time.perf_counter() - started
    return elapsed, rows, sum(int(f.file_size_in_bytes) for f in files)


def _download(url: str, params: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    size = 0
    with httpx.stream("GET", url, params=params, timeout=None) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            size += len(chunk)
    return time.perf_counter() - started, size


def run(rows: int = 1_000_000) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        home, _ = orders_workspace(Path(tmp), rows)
        local_s, local_rows, local_bytes = min((_local(home) for _ in range(3)), key=lambda r: r[0])
        with serve(home) as base:
            port = f"{base}/products/sales/shop/ports/orders"
            snapshot = httpx.get(f"{port}/snapshots").json()[-1]["snapshot_id"]
            figures = {}
            for label, url, params in (
                ("parquet (whole snapshot)", f"{port}/data", {"format": "parquet"}),
                (
                    "parquet (streamed, filtered)",
                    f"{port}/data",
                    {"format": "parquet", "filter": "amount >= 0"},
                ),
                ("arrow (streamed)", f"{port}/data", {"format": "arrow"}),
                ("parquet (pinned, cached file)", f"{port}/snapshots/{snapshot}/data", {}),
            ):
                _download(url, params)  # warm-up (and fills the pinned cache)
                seconds, size = min((_download(url, params) for _ in range(3)), key=lambda r: r[0])
                figures[label] = {
                    "seconds": seconds,
                    "bytes": size,
                    "rows_per_s": rows / seconds,
                    "ratio_vs_local": local_s / seconds,
                }
    headline = [("local read", f"{local_rows / local_s:,.0f} rows/s")]
    headline += [
        (k, f"{v['rows_per_s']:,.0f} rows/s ({v['ratio_vs_local']:.2f}× local)")
        for k, v in figures.items()
    ]
    return Result(
        "node-files",
        "HTTP download ≥ 0.5× local read",
        headline,
        {
            "rows": rows,
            "local": {"seconds": local_s, "bytes": local_bytes, "rows_per_s": local_rows / local_s},
            "http": figures,
        },
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    result = run(parser.parse_args().rows)
    print(result.write())
    show([result])
