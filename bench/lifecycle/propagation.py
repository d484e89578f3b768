"""Propagation: from an upstream commit to the last dependent's commit, through the scheduler.

Two meshes: a chain of 20 products, and one source with 100 direct dependents. The scheduler
runs in its thread, woken by the source's publication (as inside ``hexmesh serve``). We
measure the time from the source's publication to the last dependent's publication, and the
sum of the dependents' own run durations (start to finish, as recorded in the state store).
The ratio between the two is the scheduler's overhead: 1.0 would be no overhead at all.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from bench.report import Result, work_dir
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Attempt, Workspace

__all__ = ["run"]

_SOURCE = """
domain: bench
name: source
version: 1.0.0
owner: bench@example.com
trigger: manual
inputPorts:
  - {name: raw, source: {format: csv, path: data}, window: incremental}
transformation: {sql: transform.sql}
outputPorts:
  - name: out
    properties:
      - {name: id, logicalType: integer}
"""

_NODE = """
domain: bench
name: {name}
version: 1.0.0
owner: bench@example.com
inputPorts:
  - {{name: up, from: "dp://bench/{upstream}/out", window: incremental}}
transformation: {{sql: transform.sql}}
outputPorts:
  - name: out
    properties:
      - {{name: id, logicalType: integer}}
"""


def _write(folder: Path, spec: str, sql: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dataproduct.yaml").write_text(textwrap.dedent(spec).lstrip())
    (folder / "transform.sql").write_text(sql)
    return folder


def _mesh(root: Path, shape: str, size: int) -> list[Path]:
    source = _write(root / "source", _SOURCE, "select id from raw")
    (source / "data").mkdir(exist_ok=True)
    (source / "data" / "0.csv").write_text("id\n0\n")
    folders = [source]
    for index in range(1, size + 1):
        upstream = "source" if shape == "fan-out" or index == 1 else f"p{index - 1}"
        folders.append(
            _write(root / f"p{index}", _NODE.format(name=f"p{index}", upstream=upstream), "select id from up")
        )
    return folders


def _measure(root: Path, shape: str, size: int, rounds: int) -> dict[str, object]:
    folders = _mesh(root / "mesh", shape, size)
    workspace = Workspace(Settings.defaults(root / "ws"))
    workspace.deploy(folders)
    attempts: list[Attempt] = []
    scheduler = workspace.scheduler(poll_interval=3600, on_attempt=attempts.append)
    scheduler.start()
    measured = []
    try:
        for round_ in range(rounds + 1):  # round 0 warms up (first runs, caches)
            attempts.clear()
            (folders[0] / "data" / f"{round_ + 1}.csv").write_text(f"id\n{round_ + 1}\n")
            commit = workspace.run("bench/source").published_at
            assert commit is not None
            deadline = time.monotonic() + 600
            while sum(a.status == "succeeded" for a in attempts) < size:
                if time.monotonic() > deadline or any(a.status == "failed" for a in attempts):
                    raise RuntimeError(f"propagation did not complete: {attempts[-3:]}")
                time.sleep(0.01)
            if round_ == 0:
                continue
            ids = {a.run_id for a in attempts}
            records = [r for r in workspace.runtime.state.runs(limit=10 * size) if r.id in ids]
            last = max(r.finished_us or 0 for r in records)
            own = sum((r.finished_us or 0) - r.started_us for r in records) / 1e6
            propagation = (last - int(commit.timestamp() * 1e6)) / 1e6
            measured.append({"propagation_s": propagation, "sum_of_runs_s": own, "overhead_ratio": propagation / own})
    finally:
        scheduler.stop()
        workspace.close()
    best = min(measured, key=lambda m: float(m["overhead_ratio"]))
    return {"shape": shape, "products": size, "rounds": measured, "best": best}


def run(rounds: int = 3) -> Result:
    base = work_dir()
    root = Path(tempfile.mkdtemp(prefix="hexmesh-bench-propagation-", dir=base))
    try:
        chain = _measure(root / "chain", "chain", 20, rounds)
        fan = _measure(root / "fan", "fan-out", 100, rounds)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    result = Result("lifecycle-propagation", "commit-to-last-dependent ≤ 1.2× the runs' own time")
    for label, data in (("chain of 20", chain), ("fan-out of 100", fan)):
        best = data["best"]
        assert isinstance(best, dict)
        figures = f"{best['propagation_s']:.2f} s vs {best['sum_of_runs_s']:.2f} s of runs"
        result.headline.append((label, f"{figures} = {best['overhead_ratio']:.2f}×"))
    result.data = {"chain": chain, "fan_out": fan, "cpus": os.cpu_count()}
    return result


if __name__ == "__main__":
    outcome = run(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
    print(outcome.write())
    for measure, value in outcome.headline:
        print(f"{measure}: {value}")
