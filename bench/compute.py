"""Compute engines at scale: one run's peak RSS and time against raw DuckDB doing the same query.

Over the cached play-events workspace (bench/sf10.py, ``python -m bench.compute 1 10``), two
products owned by the player team (who see the plays as stored, so the engine gets the pinned
snapshot's own data files): ``plays-daily`` aggregates every play per podcast and day (a small
output: the input side's memory), ``plays-counted`` keeps every counted play (an output nearly
as large as the input, its primary key checked: the output side's memory). Each side runs in
its own subprocess, sampled for peak RSS (process and children):

- hexmesh: ``hexmesh run --full-refresh`` with ``compute_memory_limit`` (default 2GB; the
  run includes reading inputs through the door, conforming, checks and the Iceberg commit);
- raw DuckDB: the same SQL over the same Parquet files with the same memory limit, ``COPY … TO``
  a Parquet file (the physical limit: DuckDB's own scan and write, nothing else).

Sides are interleaved and repeated (``HEXMESH_BENCH_REPEAT``, default 1); the machine's load is
recorded. Goal: hexmesh's peak RSS flat above the limit as the scale grows; time ≤ 1.3× raw.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import textwrap
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench import sf10
from bench.memory import _peak_rss
from bench.report import Result, repeats
from tests.sparkcluster import standalone_cluster

__all__ = ["run"]

#: The benchmark products: name -> (transformation SQL, spec).
PRODUCTS: dict[str, tuple[str, str]] = {
    "plays-daily": (
        """
select
    podcast_id,
    cast(timezone('UTC', played_at) as date) as day,
    count(*) as plays,
    count(distinct listener_id) as listeners,
    round(sum(seconds_played) / 60.0, 1) as minutes_played
from plays
where counted
group by all
""",
        """
domain: bench
name: plays-daily
version: 1.0.0
owner: player-team@example.com
description: Plays per podcast and day (benchmark).
inputPorts:
  - name: plays
    from: dp://podcasts/play-events/plays
    window: all
transformation:
  sql: transform.sql
outputPorts:
  - name: daily
    mode: replace
    properties:
      - {name: podcast_id, logicalType: string, required: true}
      - {name: day, logicalType: date, required: true}
      - {name: plays, logicalType: integer}
      - {name: listeners, logicalType: integer}
      - {name: minutes_played, logicalType: number}
""",
    ),
    "plays-counted": (
        """
select play_id, played_at, listener_id, podcast_id, seconds_played
from plays
where counted
""",
        """
domain: bench
name: plays-counted
version: 1.0.0
owner: player-team@example.com
description: Every counted play (benchmark; an output nearly as large as its input).
inputPorts:
  - name: plays
    from: dp://podcasts/play-events/plays
    window: all
transformation:
  sql: transform.sql
outputPorts:
  - name: counted
    mode: replace
    primaryKey: [play_id]
    properties:
      - {name: play_id, logicalType: integer, required: true}
      - {name: played_at, logicalType: timestamp, required: true}
      - {name: listener_id, logicalType: string, required: true, classification: internal}
      - {name: podcast_id, logicalType: string, required: true}
      - {name: seconds_played, logicalType: integer}
""",
    ),
}
_RAW = """
import sys, duckdb
files, limit, out = sys.argv[1].split(","), sys.argv[2], sys.argv[3]
sql = open(sys.argv[4], encoding="utf-8").read()
con = duckdb.connect(config={"memory_limit": limit})
con.execute("SET TimeZone = 'UTC'")
listed = ", ".join(repr(f) for f in files)
con.execute(f"CREATE VIEW plays AS SELECT * FROM read_parquet([{listed}])")
con.execute(f"COPY ({sql}) TO '{out}' (FORMAT parquet)")
"""


def _prepare(scale: float, folder: Path) -> tuple[Path, list[str]]:
    """The workspace of ``scale`` with the bench products deployed, and the plays' data files."""
    workspace, _ = sf10.play_events(scale)
    with workspace:
        for name, (sql, spec) in PRODUCTS.items():
            product = folder / name
            product.mkdir(parents=True, exist_ok=True)
            (product / "dataproduct.yaml").write_text(textwrap.dedent(spec).lstrip(), encoding="utf-8")
            (product / "transform.sql").write_text(sql, encoding="utf-8")
        workspace.deploy([folder / name for name in PRODUCTS])
        reader = workspace.reader("dp://podcasts/play-events/plays")
        publication = reader.publication()
        assert publication is not None
        files = workspace.runtime.tables.data_files(reader.record.table_id, publication.snapshot_id)
        return workspace.settings.home, [f.file_path.removeprefix("file://") for f in files]


def _measure(scale: float, limit: str, folder: Path, spark: str | None = None) -> list[dict[str, Any]]:
    home, files = _prepare(scale, folder)
    return [_product(name, scale, limit, folder, home, files, spark) for name in PRODUCTS]


def _product(
    name: str, scale: float, limit: str, folder: Path, home: Path, files: list[str], spark: str | None
) -> dict[str, Any]:
    sql = folder / name / "transform.sql"
    hexmesh = str(Path(sys.executable).parent / "hexmesh")
    env = {"HEXMESH_COMPUTE_MEMORY_LIMIT": limit}
    sides: dict[str, list[tuple[int, float]]] = {"hexmesh": [], "raw_duckdb": []}
    command = [hexmesh, "run", f"bench/{name}", "--full-refresh", "--home", str(home)]
    for _ in range(repeats()):
        sides["hexmesh"].append(_peak_rss_env(command, env))
        if spark is not None:  # the CLI starts its own Spark driver each time: the fixed cost users pay
            on_spark = {"HEXMESH_COMPUTE_ENGINE": "spark", "HEXMESH_SPARK_MASTER": spark}
            sides.setdefault("hexmesh_spark", []).append(_peak_rss_env(command, on_spark))
        raw = [sys.executable, "-c", _RAW, ",".join(files), limit, str(folder / "raw.parquet"), str(sql)]
        sides["raw_duckdb"].append(_peak_rss_env(raw, {}))
    input_bytes = sum(Path(f).stat().st_size for f in files)
    output_rows = _rows(folder / "raw.parquet")
    data: dict[str, Any] = {
        "product": f"bench/{name}",
        "scale": scale,
        "memory_limit": limit,
        "input_parquet_bytes": input_bytes,
        "output_rows": output_rows,
    }
    for side, samples in sides.items():
        data[f"{side}_peak_rss_bytes"] = max(p for p, _ in samples)
        data[f"{side}_s"] = statistics.median(t for _, t in samples)
        data[f"{side}_samples"] = samples
    data["time_ratio"] = data["hexmesh_s"] / data["raw_duckdb_s"]
    if spark is not None:
        data["spark_master"] = "standalone, 2 workers × 1 core, 1g (executors' RSS not counted)"
        data["spark_time_ratio"] = data["hexmesh_spark_s"] / data["raw_duckdb_s"]
    data["load_average_1m_after"] = os.getloadavg()[0]
    return data


def _rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def _peak_rss_env(command: list[str], env: dict[str, str]) -> tuple[int, float]:
    """:func:`bench.memory._peak_rss` with ``env`` set for the subprocess."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return _peak_rss(command)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run(scales: list[float] | None = None, limits: list[str] | None = None, *, spark: bool = False) -> Result:
    """Every scale (default 1 and 10) under every memory limit (default 2GB); with ``spark``, also on a
    standalone Spark cluster (a master and two workers on loopback, started for the benchmark)."""
    scales = scales or [1.0, 10.0]
    limits = limits or ["2GB"]
    with tempfile.TemporaryDirectory(prefix="hexmesh-bench-compute-") as folder, ExitStack() as stack:
        master = stack.enter_context(standalone_cluster(Path(folder) / "spark")).master if spark else None
        points = [
            point
            for limit in limits
            for scale in scales
            for point in _measure(scale, limit, Path(folder) / f"sf{scale:g}-{limit}", master)
        ]
    mib = 1024 * 1024
    # Another limit than the default writes a file of its own (compute-512MB.json): the 2GB curve stays.
    suffix = "" if limits == ["2GB"] else "-" + "-".join(limits)
    result = Result(
        ("compute-spark" if spark else "compute") + suffix,
        "peak RSS flat above compute_memory_limit as the scale grows; time ≤ 1.3× raw DuckDB",
    )
    for point in points:
        scale, limit, size = point["scale"], point["memory_limit"], int(point["input_parquet_bytes"]) / mib
        ours, raw = int(point["hexmesh_peak_rss_bytes"]) / mib, int(point["raw_duckdb_peak_rss_bytes"]) / mib
        result.headline.append(
            (
                f"{point['product']} SF{scale:g}, limit {limit} ({size:,.0f} MiB of Parquet in, "
                f"{point['output_rows']:,} rows out)",
                f"hexmesh {ours:,.0f} MiB, {point['hexmesh_s']:.1f} s; raw DuckDB {raw:,.0f} MiB, "
                f"{point['raw_duckdb_s']:.1f} s; time ×{point['time_ratio']:.2f}"
                + (
                    f"; on Spark {point['hexmesh_spark_s']:.1f} s (×{point['spark_time_ratio']:.2f})"
                    if "hexmesh_spark_s" in point
                    else ""
                ),
            )
        )
    result.data = {"points": points}
    return result


if __name__ == "__main__":
    from bench.report import show

    # python -m bench.compute [SCALE ...] [LIMIT ...] [spark], e.g. 1 10 2GB 512MB, or 1 10 spark
    chosen = [float(a) for a in sys.argv[1:] if a[0].isdigit() and not a.upper().endswith("B")] or None
    memory = [a for a in sys.argv[1:] if a.upper().endswith("B")] or None
    outcome = run(chosen, memory, spark="spark" in sys.argv[1:])
    print(outcome.write())
    show([outcome])
