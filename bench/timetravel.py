"""Time travel: reading a port as of its first snapshot vs reading its latest, 30 snapshots deep.

A pass-through product over the player logs runs 30 times, each run appending one day (one
snapshot). Two comparisons, median of repeated reads:

- as of the first snapshot vs the latest (the question users ask: is the past slower?);
- the same, with the latest read narrowed by event time to the first day, so both reads
  return the same rows and the ratio isolates the cost of going back in time.

Goal: time travel costs at most 1.2x a current read.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench.report import Result, median_time, work_dir
from hexmesh.demo import generate_day
from hexmesh.lifecycle import Workspace
from hexmesh.product import ReadRequest

__all__ = ["run"]

_SNAPSHOTS = 30
_REPEAT = 7
_FIRST = date(2026, 1, 1)
_SPEC = """\
domain: bench
name: plays
version: 1.0.0
owner: bench@example.com
inputPorts:
  - name: logs
    source: {format: csv, path: "${HEXMESH_HOME}/landing/player_logs"}
    window: incremental
outputPorts:
  - name: plays
    eventTime: played_at
    properties:
      - {name: play_id, logicalType: integer}
      - {name: played_at, logicalType: timestamp}
      - {name: listener_id, logicalType: string}
      - {name: podcast_id, logicalType: string}
      - {name: episode, logicalType: integer}
      - {name: device, logicalType: string}
      - {name: country, logicalType: string}
      - {name: ip_address, logicalType: string}
      - {name: seconds_played, logicalType: integer}
"""


def _scale() -> float:
    return float(os.environ.get("HEXMESH_BENCH_TT_SCALE", "0.1"))


def run() -> Result:
    scale = _scale()
    with tempfile.TemporaryDirectory(prefix="hexmesh-bench-tt-", dir=work_dir()) as folder:
        root = Path(folder)
        product = root / "product"
        product.mkdir()
        (product / "dataproduct.yaml").write_text(_SPEC, encoding="utf-8")
        home = root / "home"
        os.environ["HEXMESH_HOME"] = str(home)
        workspace = Workspace.open(home)
        workspace.deploy([product])
        first_published: datetime | None = None
        for offset in range(_SNAPSHOTS):
            day = _FIRST + timedelta(days=offset)
            generate_day(home / "landing", scale=scale, day=day, start=_FIRST)
            workspace.run("bench/plays")
            first_published = first_published or datetime.now(UTC)
        reader = workspace.reader("dp://bench/plays/plays")
        assert first_published is not None and len(reader.publications()) == _SNAPSHOTS
        past = ReadRequest(as_of=first_published)
        first_day = ReadRequest(since=_FIRST, until=_FIRST + timedelta(days=1))
        rows = {
            "as_of_first": workspace.read(reader.address, past).num_rows,
            "latest": workspace.read(reader.address).num_rows,
            "latest_first_day": workspace.read(reader.address, first_day).num_rows,
        }
        as_of, as_of_times = median_time(lambda: workspace.read(reader.address, past), _REPEAT)
        latest, latest_times = median_time(lambda: workspace.read(reader.address), _REPEAT)
        window, window_times = median_time(lambda: workspace.read(reader.address, first_day), _REPEAT)
    result = Result("timetravel", "as-of read ≤ 1.2× current read")
    result.headline = [
        ("snapshots / rows (latest)", f"{_SNAPSHOTS} / {rows['latest']:,}"),
        ("as of first snapshot", f"{as_of * 1000:.1f} ms ({rows['as_of_first']:,} rows)"),
        ("latest", f"{latest * 1000:.1f} ms ({rows['latest']:,} rows)"),
        ("ratio as-of / latest", f"{as_of / latest:.2f}×"),
        ("latest, first day only", f"{window * 1000:.1f} ms ({rows['latest_first_day']:,} rows)"),
        ("ratio as-of / same rows now", f"{as_of / window:.2f}×"),
    ]
    result.data = {
        "scale": scale,
        "snapshots": _SNAPSHOTS,
        "repeat": _REPEAT,
        "rows": rows,
        "as_of_first_s": {"median": as_of, "runs": as_of_times},
        "latest_s": {"median": latest, "runs": latest_times},
        "latest_first_day_s": {"median": window, "runs": window_times},
        "ratio_as_of_vs_latest": as_of / latest,
        "ratio_as_of_vs_same_rows": as_of / window,
    }
    return result
