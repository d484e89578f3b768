"""The SQL port on SF10 play-events, against DuckDB in-process and against PostgreSQL.

The data is the example mesh's ``podcasts/play-events`` port ``plays`` after two generated days
(~10.5M rows at scale 10; ``bench/sf10.py`` builds and caches it; ``HEXMESH_BENCH_SCALE``
lowers the scale for a quick check). Measured, each side on the same published snapshot:

- aggregates: realistic group-bys through the port with psycopg vs the same SQL on DuckDB's own
  ``read_parquet`` of the snapshot's data files in-process (goal ≤ 1.1×), vs the port serving
  through a masking, row-filtering policy (goal ≤ 1.15×; its filter keeps every row), through
  the same mask keeping one country's rows (what play-events' country-managers read), and vs
  the same table loaded into the PostgreSQL on this machine (goal: hexmesh ≥ 5× faster), in
  interleaved rounds;
- transfer: fetch 1M rows × 6 columns vs PostgreSQL (goal: at least as fast), in text (psycopg's
  default) and in binary, and the CPU each server spends on it (the port's process against the
  PostgreSQL backend: a ratio that holds on a busy machine, where wall times do not);
- concurrency: 64 clients running short queries, throughput and p99 next to PostgreSQL's; then
  64 clients running the aggregates at once, and the server process's peak memory (VmHWM);
- connect: opening a connection and running one query, as a BI tool does per dashboard tile.

The PostgreSQL copy is the port's table with its declared primary key (no other index); it is
loaded once and reused while it holds the same snapshot (a table comment records which).
Writes bench/results/sql-port.json. Run: ``python -m bench.sql.port``; PostgreSQL comes from
``HEXMESH_BENCH_PG`` (default postgresql://postgres@127.0.0.1:5432/postgres; the benchmark
creates and uses the database ``hexmesh_bench_sf<scale>`` there).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from bench.node._node import free_port, quantiles
from bench.report import Result, bench_scale, median_time, show
from bench.sf10 import play_events
from hexmesh.lifecycle import Workspace

SERVER = os.environ.get("HEXMESH_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
ADDRESS = "dp://podcasts/play-events/plays"
LOCAL = "plays"  # the in-process baseline's name for the same rows
AGGREGATES = {
    "plays per device and day": "select device, date_trunc('day', played_at) as day, count(*) as plays, "
    "sum(seconds_played) as seconds from {t} group by 1, 2 order by 1, 2",
    "top podcasts (counted plays)": "select podcast_id, count(*) as plays from {t} where counted "
    "group by 1 order by 2 desc, 1 limit 10",
    "listening by country": "select country, count(*) as plays, avg(seconds_played) as avg_seconds, "
    "max(seconds_played) as longest from {t} group by 1 order by 2 desc limit 20",
    "hourly profile": "select extract(hour from played_at) as hour, count(*) as plays, "
    "avg(seconds_played) as avg_seconds from {t} group by 1 order by 1",
}
TRANSFER = "select play_id, played_at, listener_id, podcast_id, device, seconds_played from {t} limit {n}"
SHORT = "select count(*), sum(seconds_played) from {t} where listener_id = %s"
PG_TYPES = {
    "int64": "bigint",
    "string": "text",
    "large_string": "text",
    "bool": "boolean",
    "timestamp[us, tz=UTC]": "timestamptz",
    "timestamp[us, tz=+00:00]": "timestamptz",
}


@contextmanager
def sql_port(home: Path, *, policy: str | None = None) -> Iterator[tuple[str, int]]:
    """The port's DSN and its server process id (for its peak memory); ``policy``: masked or country."""
    port = free_port()
    command = [sys.executable, "-m", "bench.sql._server", str(home), str(port)] + ([policy] if policy else [])
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        yield f"host=127.0.0.1 port={port} user=bench dbname=mesh sslmode=disable", server.pid
    finally:
        server.terminate()
        server.wait(timeout=60)


def snapshot(workspace: Workspace) -> tuple[ds.Dataset, int, list[str]]:
    """The published snapshot's data files as a dataset (from the manifest), its id, and the file paths."""
    reader = workspace.reader(ADDRESS)
    publication = reader.publication()
    assert publication is not None, "play-events has published nothing"
    files = workspace.runtime.tables.data_files(reader.record.table_id, publication.snapshot_id)
    fs, _ = pafs.FileSystem.from_uri(files[0].file_path)
    paths = [pafs.FileSystem.from_uri(f.file_path)[1] for f in files]
    return ds.dataset(paths, filesystem=fs, format="parquet"), publication.snapshot_id, paths


def in_process(paths: list[str]) -> duckdb.DuckDBPyConnection:
    """DuckDB's own Parquet scan of the published snapshot's files: the physical limit, no wire.

    Same engine settings as the port's (2 threads, 1 GB), so the ratio is the port's overhead.
    """
    con = duckdb.connect(config={"threads": 2, "memory_limit": "1GB"})
    files = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
    con.execute(f"CREATE VIEW {LOCAL} AS SELECT * FROM read_parquet([{files}])")
    return con


def peak_rss_mb(pid: int) -> float:
    """A process's peak resident memory so far (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def interleaved(actions: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median seconds of each action, run round-robin (a, b, c, a, b, c, …) after one warm-up each."""
    for action in actions.values():
        action()
    times: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(rounds):
        for name, action in actions.items():
            started = time.perf_counter()
            action()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def database(scale: float) -> str:
    """The PostgreSQL database holding the copy at ``scale`` (one per scale, kept between runs)."""
    return "hexmesh_bench_sf" + f"{scale:g}".replace(".", "_")


def pg_dsn(scale: float) -> str:
    return psycopg.conninfo.make_conninfo(SERVER, dbname=database(scale))


def load_postgres(dataset: ds.Dataset, table: str, snapshot_id: int, scale: float) -> float:
    """The snapshot as a PostgreSQL table (primary key play_id); seconds spent loading (0: reused)."""
    with psycopg.connect(SERVER, autocommit=True) as admin:
        if admin.execute("select 1 from pg_database where datname = %s", [database(scale)]).fetchone() is None:
            admin.execute(f"create database {database(scale)}")
    marker = f"hexmesh snapshot {snapshot_id}, {dataset.count_rows()} rows"
    with psycopg.connect(pg_dsn(scale), autocommit=True) as pg:
        found = pg.execute("select obj_description(to_regclass(%s), 'pg_class')", [table]).fetchone()
        if found is not None and found[0] == marker:
            return 0.0
        started = time.perf_counter()
        schema = table.split(".")[0]
        pg.execute(f"drop schema if exists {schema} cascade")
        pg.execute(f"create schema {schema}")
        columns = ", ".join(f"{f.name} {PG_TYPES[str(f.type)]}" for f in dataset.schema)
        pg.execute(f"create table {table} ({columns})")
        options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
        with pg.cursor().copy(f"copy {table} from stdin (format csv)") as copy:
            for batch in dataset.to_batches(batch_size=200_000):
                buffer = io.BytesIO()
                pacsv.write_csv(pa.Table.from_batches([batch]), buffer, options)
                copy.write(buffer.getvalue())
        pg.execute(f"alter table {table} add primary key (play_id)")
        pg.execute(f"vacuum analyze {table}")
        pg.execute(f"comment on table {table} is '{marker}'")
        return time.perf_counter() - started


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


def binary_query(con: psycopg.Connection[tuple[object, ...]], sql: str) -> Callable[[], object]:
    """The same, asking for binary results (psycopg's binary cursor, as asyncpg and pgjdbc can)."""

    def run() -> object:
        return con.cursor(binary=True).execute(sql).fetchall()

    return run


def cpu_seconds(pid: int) -> float:
    """A process's user + system CPU time so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(action: Callable[[], object], pid: int, repeat: int) -> float:
    """Median CPU seconds the server process ``pid`` spends on one call of ``action``.

    Unlike wall time it hardly moves with the machine's load, so it compares the two servers'
    own work (the port's process against the PostgreSQL backend serving the connection).
    """
    action()
    spent = []
    for _ in range(repeat):
        before = cpu_seconds(pid)
        action()
        spent.append(cpu_seconds(pid) - before)
    return statistics.median(spent)


def connect_and_query(dsn: str, sql: str) -> Callable[[], object]:
    def run() -> object:
        with psycopg.connect(dsn, autocommit=True) as con:
            return con.execute(sql).fetchall()

    return run


def concurrency(dsn: str, table: str, listeners: list[str], clients: int, per_client: int) -> dict[str, float | str]:
    latencies: list[float] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def client(seed: int) -> None:
        try:
            with psycopg.connect(dsn, autocommit=True) as con:
                for i in range(per_client):
                    listener = listeners[(seed * per_client + i) % len(listeners)]
                    started = time.perf_counter()
                    con.execute(SHORT.format(t=table), [listener]).fetchall()
                    with lock:
                        latencies.append(time.perf_counter() - started)
        except BaseException as exc:  # reported below: a benchmark must not hide a failing client
            with lock:
                failures.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if len(failures) == clients:
        raise RuntimeError(f"all {clients} clients failed: {failures[0]!r}")
    # A client that fails is reported with the result (how many, and why), not hidden and not fatal:
    # throughput and latencies are those of the queries that answered.
    measured: dict[str, float | str] = {
        "queries_per_s": len(latencies) / elapsed,
        **{k: v * 1000 for k, v in quantiles(latencies).items()},
        "failed_clients": float(len(failures)),
    }
    if failures:
        measured["first_failure"] = str(failures[0]).splitlines()[0]
    return measured


def concurrency_heavy(dsn: str, table: str, clients: int) -> dict[str, float]:
    """``clients`` connections each running one aggregate (round-robin over AGGREGATES) at once."""
    queries = list(AGGREGATES.values())
    failures: list[BaseException] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        try:
            with psycopg.connect(dsn, autocommit=True) as con:
                con.execute(queries[n % len(queries)].format(t=table)).fetchall()
        except BaseException as exc:  # counted below: out-of-memory refusals are the bound at work
            with lock:
                failures.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"elapsed_s": time.perf_counter() - started, "failed_clients": float(len(failures))}


def run(scale: float | None = None, transfer_rows: int = 1_000_000, clients: int = 64, per_client: int = 2) -> Result:
    scale = bench_scale() if scale is None else scale
    load_at_start = os.getloadavg()[0]
    workspace, table = play_events(scale)
    with workspace:
        home = workspace.settings.home
        dataset, snapshot_id, paths = snapshot(workspace)
    rows = dataset.count_rows()
    local = in_process(paths)
    load_s = load_postgres(dataset, table, snapshot_id, scale)
    listeners = [r[0] for r in local.sql(f"select distinct listener_id from {LOCAL} order by 1 limit 997").fetchall()]
    aggregates: dict[str, dict[str, float]] = {}
    with (
        sql_port(home) as (port, pid),
        sql_port(home, policy="masked") as (masked_port, _),
        sql_port(home, policy="country") as (country_port, _),
        psycopg.connect(port, autocommit=True) as hx,
        psycopg.connect(masked_port, autocommit=True) as hx_masked,
        psycopg.connect(country_port, autocommit=True) as hx_country,
        psycopg.connect(pg_dsn(scale), autocommit=True) as pg,
    ):
        for name, sql in AGGREGATES.items():
            # Interleaved rounds (DuckDB, hexmesh, masked hexmesh, one country, PostgreSQL, again…), medians of 3.
            medians = interleaved(
                {
                    "duckdb_s": arrow_query(local, sql.format(t=LOCAL)),
                    "hexmesh_s": timed_query(hx, sql.format(t=table)),
                    "hexmesh_masked_s": timed_query(hx_masked, sql.format(t=table)),
                    "hexmesh_one_country_s": timed_query(hx_country, sql.format(t=table)),
                    "postgres_s": timed_query(pg, sql.format(t=table)),
                },
                3,
            )
            aggregates[name] = medians
        transfer_sql = TRANSFER.format(t=table, n=transfer_rows)
        transfer = {
            "hexmesh_s": median_time(timed_query(hx, transfer_sql), 3)[0],
            "postgres_s": median_time(timed_query(pg, transfer_sql), 3)[0],
            "hexmesh_binary_s": median_time(binary_query(hx, transfer_sql), 3)[0],
            "postgres_binary_s": median_time(binary_query(pg, transfer_sql), 3)[0],
            "hexmesh_server_cpu_s": server_cpu(timed_query(hx, transfer_sql), pid, 3),
            "postgres_server_cpu_s": server_cpu(timed_query(pg, transfer_sql), pg.info.backend_pid, 3),
        }
        connect = {
            "hexmesh_ms": median_time(connect_and_query(port, "select 1"), 20)[0] * 1000,
            "postgres_ms": median_time(connect_and_query(pg_dsn(scale), "select 1"), 20)[0] * 1000,
        }
        concurrent = {
            "hexmesh": concurrency(port, table, listeners, clients, per_client),
            "postgres": concurrency(pg_dsn(scale), table, listeners, clients, per_client),
        }
        # Heavy clients: every one runs the aggregates at once; the server's peak memory must stay bounded.
        heavy = concurrency_heavy(port, table, clients)
        heavy["server_peak_rss_mb"] = peak_rss_mb(pid)
    # Each query's ratios, as the goals are stated per query; the headline also shows the worst.
    ratios = {
        name: {
            "hexmesh_over_duckdb": a["hexmesh_s"] / a["duckdb_s"],
            "masked_over_unrestricted": a["hexmesh_masked_s"] / a["hexmesh_s"],
            "one_country_over_unrestricted": a["hexmesh_one_country_s"] / a["hexmesh_s"],
            "postgres_over_hexmesh": a["postgres_s"] / a["hexmesh_s"],
        }
        for name, a in aggregates.items()
    }
    vs_duck = max(a["hexmesh_s"] / a["duckdb_s"] for a in aggregates.values())
    masked_ratio = max(a["hexmesh_masked_s"] / a["hexmesh_s"] for a in aggregates.values())
    vs_pg = min(a["postgres_s"] / a["hexmesh_s"] for a in aggregates.values())
    transfer_ratio = transfer["postgres_s"] / transfer["hexmesh_s"]
    binary_ratio = transfer["postgres_binary_s"] / transfer["hexmesh_binary_s"]
    cpu_ratio = transfer["postgres_server_cpu_s"] / transfer["hexmesh_server_cpu_s"]
    hx_c, pg_c = concurrent["hexmesh"], concurrent["postgres"]
    result = Result(
        "sql-port",
        "aggregates ≤1.1× DuckDB read_parquet and ≥5× faster than PostgreSQL; masked+filtered ≤1.15× unrestricted; "
        "transfer ≥ PostgreSQL",
        headline=[
            ("data", f"SF{scale:g} play-events, {rows:,} rows"),
            ("aggregates, worst hexmesh/DuckDB read_parquet", f"{vs_duck:.2f}×"),
            *(
                (
                    f"{name}: hexmesh/DuckDB, masked/unrestricted, PostgreSQL/hexmesh",
                    f"{r['hexmesh_over_duckdb']:.2f}×, {r['masked_over_unrestricted']:.2f}×, "
                    f"{r['postgres_over_hexmesh']:.1f}×",
                )
                for name, r in ratios.items()
            ),
            ("aggregates, worst masked+filtered/unrestricted", f"{masked_ratio:.2f}×"),
            (
                "aggregates, one country (masked)/unrestricted",
                ", ".join(f"{r['one_country_over_unrestricted']:.2f}×" for r in ratios.values()),
            ),
            ("aggregates, worst PostgreSQL/hexmesh", f"{vs_pg:.1f}× faster"),
            (f"transfer {transfer_rows:,} rows × 6, PostgreSQL/hexmesh", f"{transfer_ratio:.2f}×"),
            ("transfer in binary, PostgreSQL/hexmesh", f"{binary_ratio:.2f}×"),
            ("transfer, server CPU PostgreSQL/hexmesh", f"{cpu_ratio:.2f}×"),
            (
                f"{clients} clients, queries/s hexmesh vs PostgreSQL",
                f"{hx_c['queries_per_s']:.1f} vs {pg_c['queries_per_s']:.1f}",
            ),
            ("p99 latency hexmesh vs PostgreSQL", f"{hx_c['p99']:.0f} ms vs {pg_c['p99']:.0f} ms"),
            (
                f"{clients} clients, failed hexmesh vs PostgreSQL",
                f"{hx_c['failed_clients']:.0f} vs {pg_c['failed_clients']:.0f}",
            ),
            (f"{clients} heavy clients, server peak RSS", f"{heavy['server_peak_rss_mb']:.0f} MiB"),
            (
                "connect + select 1, hexmesh vs PostgreSQL",
                f"{connect['hexmesh_ms']:.1f} ms vs {connect['postgres_ms']:.1f} ms",
            ),
        ],
        data={
            "scale": scale,
            "rows": rows,
            "load_average_1m_at_start": load_at_start,
            "snapshot_id": snapshot_id,
            "postgres_load_s": load_s,
            "postgres_indexes": "primary key (play_id) only",
            "queries": {**AGGREGATES, "transfer": TRANSFER, "short": SHORT},
            "aggregates": aggregates,
            "ratios": ratios,
            "ratio_hexmesh_over_duckdb_worst": vs_duck,
            "ratio_masked_over_unrestricted_worst": masked_ratio,
            "baseline": "DuckDB read_parquet over the snapshot's files, 2 threads, 1 GB (the port's engine settings)",
            "method": "interleaved rounds (duckdb, hexmesh, masked hexmesh, one country, postgres) after a warm-up, "
            "median of 3",
            "policies": "masked: md5(listener_id), country <> 'XX' (keeps every row); one country: md5(listener_id), "
            "country IN ('DE') (8 % of the rows); the plays are stored sorted by country (ADR 0044)",
            "time_functions": "the port computes date_trunc/extract on timestamptz in UTC as integer arithmetic "
            "(sql/fixedzone.py); the read_parquet baseline runs the same SQL with DuckDB's zone-aware functions",
            "admission": "the port runs 4 statements at once, the others wait their turn (ADR 0039)",
            "ratio_postgres_over_hexmesh_worst": vs_pg,
            "transfer": {
                **transfer,
                "rows": transfer_rows,
                "ratio_postgres_over_hexmesh": transfer_ratio,
                "ratio_binary_postgres_over_hexmesh": binary_ratio,
                "ratio_server_cpu_postgres_over_hexmesh": cpu_ratio,
            },
            "connect": connect,
            "concurrency": {"clients": clients, "per_client": per_client, **concurrent},
            "heavy_clients": {"clients": clients, **heavy},
        },
    )
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=None, help="default: HEXMESH_BENCH_SCALE, else 10")
    parser.add_argument("--per-client", type=int, default=2, help="short queries per concurrent client")
    parser.add_argument("--transfer-rows", type=int, default=1_000_000, help="rows of the transfer query")
    args = parser.parse_args()
    outcome = run(args.scale, transfer_rows=args.transfer_rows, per_client=args.per_client)
    print(f"wrote {outcome.write()}")
    show([outcome])
