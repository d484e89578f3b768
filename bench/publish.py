"""Publish: the example mesh through hexmesh vs the same SQL on plain DuckDB, two days of data.

Both read the same operational sources: files, and the registration service's PostgreSQL table
(a database of the benchmark's own; each side's repeat starts it afresh and loads each day's
registrations into it before that day's run, untimed, as the service would have; both read the
day's new rows by their ``id``). hexmesh deploys, then runs every product per day (read
inputs, transform, conform, quality gate, one Iceberg snapshot per port); the baseline runs
the same transformations, seals the e-mails user-profiles seals (bench/baseline.py) and writes
Parquet. Goal: hexmesh within 1.5x of the baseline, each product within 1.3x.

``python -m bench.publish`` runs it (``HEXMESH_BENCH_SCALE``, default 10; ``HEXMESH_BENCH_REPEAT``).
Each side runs in its own fresh Python process (``python -m bench.publish <side> <folder>``),
so neither pays for the other's heap: at SF10 first-touch page faults are a visible share of
the time.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

from bench.baseline import ORDER, Registrations, Sealer, registration_database, run_day
from bench.report import Result, bench_scale, repeats, work_dir
from hexmesh.demo import example_mesh, generate_day
from hexmesh.demo.database import POSTGRES_VARIABLE
from hexmesh.demo.database import Registrations as RegistrationTable
from hexmesh.lifecycle import Workspace

__all__ = ["run"]

_DAYS = 2


def _land(staged: Path, landing: Path, day: date, registrations: RegistrationTable) -> None:
    """Make a generated day appear in the landing folder and the database, as the operational systems would."""
    registrations.load(staged / "registrations" / f"{day}.jsonl")
    for source in (f"registrations/{day}.jsonl", f"player_logs/{day}.csv"):
        target = landing / source
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(staged / source, target)
    catalog = landing / "catalog" / "podcasts.parquet"
    catalog.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(staged / str(day) / "catalog" / "podcasts.parquet", catalog)


def _generate(staged: Path, scale: float, days: list[date]) -> tuple[float, int]:
    """Generate every day up front (not timed against hexmesh); seconds and play-log lines."""
    started, plays = time.perf_counter(), 0
    for day in days:
        plays += generate_day(staged, scale=scale, day=day, start=days[0]).plays
        # The catalog export is overwritten daily; keep each day's copy to land it later.
        (staged / str(day) / "catalog").mkdir(parents=True, exist_ok=True)
        os.replace(
            staged / "catalog" / "podcasts.parquet",
            staged / str(day) / "catalog" / "podcasts.parquet",
        )
    return time.perf_counter() - started, plays


@dataclass
class Timings:
    """Seconds spent running the mesh: per day, per product, and deploying (hexmesh only).

    ``sealing``: the baseline's hand-done sealing of user-profiles' e-mails (part of its product's time).
    """

    per_day: list[float] = field(default_factory=list)
    products: dict[str, float] = field(default_factory=dict)
    deploy: float = 0.0
    sealing: float = 0.0

    @property
    def total(self) -> float:
        return sum(self.per_day)


def _hexmesh(root: Path, staged: Path, days: list[date]) -> Timings:
    home = root / "hexmesh"
    shutil.rmtree(home, ignore_errors=True)  # each repeat starts from an empty workspace
    os.environ["HEXMESH_HOME"] = str(home)
    registrations = RegistrationTable.prepare(os.environ[POSTGRES_VARIABLE], fresh=True)
    workspace = Workspace.open(home)
    timings = Timings()
    started = time.perf_counter()
    workspace.deploy([example_mesh()])
    timings.deploy = time.perf_counter() - started
    for day in days:
        _land(staged, home / "landing", day, registrations)
        started = time.perf_counter()
        failures = [o for o in workspace.run_all() if isinstance(o, Exception)]
        if failures:
            raise RuntimeError(f"hexmesh run failed on {day}: {failures}")
        timings.per_day.append(time.perf_counter() - started)
    for key, _ in ORDER:
        # The state store's run records time each product from lock to publication.
        for record in workspace.runtime.state.runs(key, limit=_DAYS):
            assert record.finished_us is not None
            seconds = (record.finished_us - record.started_us) / 1e6
            timings.products[key] = timings.products.get(key, 0.0) + seconds
    return timings


def _baseline(root: Path, staged: Path, days: list[date]) -> Timings:
    shutil.rmtree(root / "baseline", ignore_errors=True)
    landing, out = root / "baseline" / "landing", root / "baseline" / "out"
    timings = Timings()
    postgres = os.environ[POSTGRES_VARIABLE]
    table, cursor = RegistrationTable.prepare(postgres, fresh=True), Registrations(postgres)
    out.mkdir(parents=True)
    sealer = Sealer(out / "keys.sqlite")
    for day in days:
        _land(staged, landing, day, table)
        started = time.perf_counter()
        products = run_day(example_mesh(), landing, out, day, cursor, sealer)
        timings.per_day.append(time.perf_counter() - started)
        timings.sealing += products.pop("sealing", 0.0)
        for key, seconds in products.items():
            timings.products[key] = timings.products.get(key, 0.0) + seconds
    return timings


def _measure(side: str, root: Path, days: list[date]) -> Timings:
    """Run one side in a fresh interpreter; it prints its timings as JSON."""
    command = [sys.executable, "-m", "bench.publish", side, str(root), *map(str, days)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{side} failed:\n{done.stderr[-3000:]}")
    return Timings(**json.loads(done.stdout.splitlines()[-1]))


def run() -> Result:
    scale = bench_scale()
    yesterday = date.today() - timedelta(days=1)
    days = [yesterday - timedelta(days=n) for n in range(_DAYS - 1, -1, -1)]
    with (
        tempfile.TemporaryDirectory(prefix="hexmesh-bench-publish-", dir=work_dir()) as folder,
        registration_database("publish"),
    ):
        root = Path(folder)
        generation, plays = _generate(root / "staged", scale, days)
        # Alternate the sides so that a burst of other load on the machine hits both alike.
        runs = [(_measure("baseline", root, days), _measure("hexmesh", root, days)) for _ in range(repeats())]
    # Paired ratios (each repeat's two sides ran back to back); the median resists bursts.
    ratios = [h.total / b.total for b, h in runs]
    ratio = statistics.median(ratios)
    baseline, hexmesh = runs[ratios.index(sorted(ratios)[(len(ratios) - 1) // 2])]
    result = Result("publish", "hexmesh run ≤ 1.5× raw DuckDB")
    result.headline = [
        ("scale / play-log lines", f"SF{scale:g} / {plays:,}"),
        ("raw DuckDB, 2 days", f"{baseline.total:.2f} s"),
        ("hexmesh run_all, 2 days", f"{hexmesh.total:.2f} s"),
        ("ratio (median of repeats)", f"{ratio:.2f}× over {len(runs)} repeat(s)"),
        ("hexmesh deploy (once)", f"{hexmesh.deploy:.2f} s"),
    ]
    for key, _ in ORDER:
        result.headline.append((f"  {key}", f"{hexmesh.products[key]:.2f} s vs {baseline.products[key]:.2f} s"))
    result.headline.append(("  (baseline's sealing of e-mails)", f"{baseline.sealing:.2f} s"))
    result.data = {
        "scale": scale,
        "days": [str(d) for d in days],
        "play_log_lines": plays,
        "generation_s": generation,
        "baseline": asdict(baseline) | {"total": baseline.total},
        "hexmesh": asdict(hexmesh) | {"total": hexmesh.total},
        "ratio": ratio,
        "product_ratios": {key: hexmesh.products[key] / baseline.products[key] for key, _ in ORDER},
        "repeats": len(runs),
        "ratio_per_repeat": ratios,
    }
    return result


def _side(side: str, root: Path, days: list[date]) -> None:
    measure = _hexmesh if side == "hexmesh" else _baseline
    print(json.dumps(asdict(measure(root, root / "staged", days))))


if __name__ == "__main__":
    if sys.argv[1:2] in (["hexmesh"], ["baseline"]):  # one side, in the fresh process _measure started
        _side(sys.argv[1], Path(sys.argv[2]), [date.fromisoformat(d) for d in sys.argv[3:]])
    else:  # python -m bench.publish: the whole benchmark (HEXMESH_BENCH_SCALE, HEXMESH_BENCH_REPEAT)
        from bench.report import show

        outcome = run()
        print(outcome.write())
        show([outcome])
