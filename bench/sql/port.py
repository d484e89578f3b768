"""The SQL port against DuckDB in-process and against PostgreSQL, on the same snapshot.

- aggregates: group-by queries through the port with psycopg vs the same SQL on DuckDB
  in-process over the snapshot's data files (goal ≤ 1.2×), and vs the same table loaded into
  the PostgreSQL on this machine (goal: hexmesh ≥ 5× faster);
- transfer: fetch every row (N × 6 columns) vs PostgreSQL (goal: at least as fast);
- concurrency: 64 clients running short queries, throughput and p99 next to PostgreSQL's.

Writes bench/results/sql-port.json. Run: ``python -m bench.sql.port [--rows N]``;
PostgreSQL comes from ``HEXMESH_BENCH_PG`` (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import psycopg
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from bench.node._node import free_port, orders_workspace, quantiles
from bench.report import Result, median_time, show
from hexmesh.lifecycle import Workspace

PG = os.environ.get("HEXMESH_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TABLE = "sales.shop__orders"
AGGREGATES = {
    "count by status": "select status, count(*), sum(amount) from {t} group by status order by 1",
    "top customers": "select customer_id, sum(amount) as s from {t} group by 1 order by s desc limit 10",
    "hourly": "select date_trunc('hour', ordered_at) as h, avg(amount) from {t} group by 1 order by 1",
}
SHORT = "select count(*), sum(amount) from {t} where customer_id = %s"


@contextmanager
def sql_port(home: Path) -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.sql._server", str(home), str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        yield f"host=127.0.0.1 port={port} user=bench dbname=mesh sslmode=disable"
    finally:
        server.terminate()
        server.wait(timeout=30)


def in_process(home: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB over the published snapshot's data files: the baseline without the wire."""
    with Workspace.open(home) as workspace:
        reader = workspace.reader("dp://sales/shop/orders")
        publication = reader.publication()
        assert publication is not None
        files = workspace.runtime.tables.data_files(reader.record.table_id, publication.snapshot_id)
    fs, _ = pafs.FileSystem.from_uri(files[0].file_path)
    dataset = ds.dataset([pafs.FileSystem.from_uri(f.file_path)[1] for f in files], filesystem=fs)
    con = duckdb.connect()
    con.register("shop__orders", dataset)
    return con


def load_postgres(con: duckdb.DuckDBPyConnection) -> list[str]:
    columns = [d[0] for d in con.execute("select * from shop__orders limit 0").description]
    with psycopg.connect(PG, autocommit=True) as pg:
        pg.execute("drop schema if exists sales cascade")
        pg.execute("create schema sales")
        types = con.execute("describe shop__orders").fetchall()
        pg_types = {"VARCHAR": "text", "DOUBLE": "double precision", "TIMESTAMP WITH TIME ZONE": "timestamptz"}
        ddl = ", ".join(f"{n} {pg_types.get(str(t), str(t))}" for n, t, *_ in types)
        pg.execute(f"create table {TABLE} ({ddl})")
        reader = con.sql("select * from shop__orders").to_arrow_reader(100_000)
        with pg.cursor().copy(f"copy {TABLE} from stdin") as copy:
            for batch in reader:
                for row in zip(*(c.to_pylist() for c in batch.columns), strict=True):
                    copy.write_row(row)
        pg.execute(f"vacuum analyze {TABLE}")
    return columns


def timed_query(con: psycopg.Connection[tuple[object, ...]], sql: str) -> Callable[[], object]:
    """A query on an open connection (connection setup is not what is measured)."""

    def run() -> object:
        return con.execute(sql).fetchall()

    return run


def arrow_query(con: duckdb.DuckDBPyConnection, sql: str) -> Callable[[], object]:
    """The in-process baseline: DuckDB's result as Arrow, no wire."""

    def run() -> object:
        return con.sql(sql).to_arrow_table()

    return run


def concurrency(dsn: str, clients: int, per_client: int) -> dict[str, float]:
    latencies: list[float] = []
    lock = threading.Lock()

    def client(seed: int) -> None:
        with psycopg.connect(dsn, autocommit=True) as con:
            for i in range(per_client):
                started = time.perf_counter()
                con.execute(SHORT.format(t=TABLE), [100 + (seed * per_client + i) % 997]).fetchall()
                with lock:
                    latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {"queries_per_s": len(latencies) / elapsed, **{k: v * 1000 for k, v in quantiles(latencies).items()}}


def run(rows: int = 1_000_000, clients: int = 64, per_client: int = 20) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        home, _ = orders_workspace(Path(tmp), rows)
        local = in_process(home)
        load_postgres(local)
        aggregates: dict[str, dict[str, float]] = {}
        with (
            sql_port(home) as port,
            psycopg.connect(port, autocommit=True) as hx,
            psycopg.connect(PG, autocommit=True) as pg,
        ):
            for name, sql in AGGREGATES.items():
                duck_s, _ = median_time(arrow_query(local, sql.format(t="shop__orders")), 5)
                hex_s, _ = median_time(timed_query(hx, sql.format(t=TABLE)), 5)
                pg_s, _ = median_time(timed_query(pg, sql.format(t=TABLE)), 5)
                aggregates[name] = {"hexmesh_s": hex_s, "duckdb_s": duck_s, "postgres_s": pg_s}
            transfer = {
                "hexmesh_s": median_time(timed_query(hx, f"select * from {TABLE}"), 3)[0],
                "postgres_s": median_time(timed_query(pg, f"select * from {TABLE}"), 3)[0],
            }
            concurrent = {
                "hexmesh": concurrency(port, clients, per_client),
                "postgres": concurrency(PG, clients, per_client),
            }
    vs_duck = max(a["hexmesh_s"] / a["duckdb_s"] for a in aggregates.values())
    vs_pg = min(a["postgres_s"] / a["hexmesh_s"] for a in aggregates.values())
    transfer_ratio = transfer["postgres_s"] / transfer["hexmesh_s"]
    result = Result(
        "sql-port",
        "aggregates ≤1.2× DuckDB in-process and ≥5× faster than PostgreSQL; transfer ≥ PostgreSQL",
        headline=[
            ("aggregates, worst hexmesh/DuckDB", f"{vs_duck:.2f}×"),
            ("aggregates, worst PostgreSQL/hexmesh", f"{vs_pg:.1f}× faster"),
            (f"transfer {rows:,} rows, PostgreSQL/hexmesh", f"{transfer_ratio:.2f}×"),
            (
                f"{clients} clients, queries/s hexmesh vs PostgreSQL",
                f"{concurrent['hexmesh']['queries_per_s']:.0f} vs {concurrent['postgres']['queries_per_s']:.0f}",
            ),
            (
                "p99 latency hexmesh vs PostgreSQL",
                f"{concurrent['hexmesh']['p99']:.0f} ms vs {concurrent['postgres']['p99']:.0f} ms",
            ),
        ],
        data={
            "rows": rows,
            "aggregates": aggregates,
            "ratio_hexmesh_over_duckdb_worst": vs_duck,
            "ratio_postgres_over_hexmesh_worst": vs_pg,
            "transfer": {**transfer, "ratio_postgres_over_hexmesh": transfer_ratio},
            "concurrency": {"clients": clients, "per_client": per_client, **concurrent},
        },
    )
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    outcome = run(args.rows)
    print(f"wrote {outcome.write()}")
    show([outcome])
