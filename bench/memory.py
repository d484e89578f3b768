"""Peak memory at the benchmark scale, each step in its own subprocess.

RSS is sampled every 20 ms with psutil over the process and its children:

- the generator alone (two days of operational files);
- ``hexmesh run --all`` over those two days landed at once (the mesh alone, worst case: one
  run reads both days; their registrations loaded into the registration database beforehand);
- ``hexmesh demo`` end to end (generate, deploy, run day by day), what users run.

No baseline ratio here: the figures to watch are how the peaks grow with the scale.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench.baseline import registration_database
from bench.report import Result, bench_scale, work_dir
from hexmesh.demo import example_mesh
from hexmesh.demo.database import Registrations

__all__ = ["run"]

_GENERATE = """
import sys
from datetime import date, timedelta
from pathlib import Path
from hexmesh.demo import generate_day
start = date.today() - timedelta(days=2)
for offset in range(2):
    day = start + timedelta(days=offset)
    generate_day(Path(sys.argv[1]), scale=float(sys.argv[2]), day=day, start=start)
"""


def _peak_rss(command: list[str], home: Path | None = None) -> tuple[int, float]:
    """Peak RSS in bytes of ``command`` and its children, and its wall time."""
    env = dict(os.environ) | ({"HEXMESH_HOME": str(home)} if home else {})
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    watched = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            tree = [watched, *watched.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree))
        except psutil.Error:  # the process ended between poll() and the sample
            pass
        time.sleep(0.02)
    _, error = process.communicate()
    if process.returncode:
        raise RuntimeError(f"{command} failed: {error.decode(errors='replace')[-2000:]}")
    return peak, time.perf_counter() - started


def run() -> Result:
    scale = bench_scale()
    hexmesh = str(Path(sys.executable).parent / "hexmesh")
    # A registration database of its own (in $HEXMESH_DEMO_POSTGRES for the subprocesses).
    with (
        tempfile.TemporaryDirectory(prefix="hexmesh-bench-memory-", dir=work_dir()) as folder,
        registration_database("memory") as postgres,
    ):
        root = Path(folder)
        mesh_home = root / "mesh"
        generator, generator_s = _peak_rss([sys.executable, "-c", _GENERATE, str(mesh_home / "landing"), str(scale)])
        deployed = subprocess.run(
            [hexmesh, "deploy", str(example_mesh()), "--home", str(mesh_home)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if deployed.returncode:
            raise RuntimeError(f"deploy failed: {deployed.stderr[-2000:]}")
        registrations = Registrations.prepare(postgres, fresh=True)
        for day in sorted((mesh_home / "landing" / "registrations").glob("*.jsonl")):
            registrations.load(day)
        mesh, mesh_s = _peak_rss([hexmesh, "run", "--all", "--home", str(mesh_home)], mesh_home)
        demo, demo_s = _peak_rss([hexmesh, "demo", "--scale", str(scale), "--home", str(root / "home")])
        logs = sum(p.stat().st_size for p in (root / "home" / "landing" / "player_logs").iterdir())
    mib = 1024 * 1024
    result = Result("memory", "report the peak; watch its growth with the scale")
    result.headline = [
        ("scale / player logs on disk", f"SF{scale:g} / {logs / mib:,.0f} MiB"),
        ("peak RSS, hexmesh demo", f"{demo / mib:,.0f} MiB ({demo_s:.1f} s)"),
        ("peak RSS, generator alone", f"{generator / mib:,.0f} MiB ({generator_s:.1f} s)"),
        ("peak RSS, hexmesh run --all", f"{mesh / mib:,.0f} MiB ({mesh_s:.1f} s)"),
    ]
    result.data = {
        "scale": scale,
        "player_logs_bytes": logs,
        "demo_peak_rss_bytes": demo,
        "demo_s": demo_s,
        "generator_peak_rss_bytes": generator,
        "generator_s": generator_s,
        "run_all_peak_rss_bytes": mesh,
        "run_all_s": mesh_s,
    }
    return result
