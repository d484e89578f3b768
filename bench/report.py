"""Benchmark results: one JSON file per benchmark and a table on the terminal."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["RESULTS", "Result", "bench_scale", "median_time", "repeats", "show", "work_dir"]

RESULTS = Path(__file__).parent / "results"
console = Console()


def bench_scale() -> float:
    """The scale factor of the data-heavy benchmarks: ``HEXMESH_BENCH_SCALE`` (default 10)."""
    return float(os.environ.get("HEXMESH_BENCH_SCALE", "10"))


def repeats() -> int:
    """How often the heavy benchmarks repeat each side (``HEXMESH_BENCH_REPEAT``, default 1)."""
    return max(1, int(os.environ.get("HEXMESH_BENCH_REPEAT", "1")))


def work_dir() -> Path | None:
    """Where benchmarks put their workspaces (``HEXMESH_BENCH_DIR``), else a temporary folder."""
    value = os.environ.get("HEXMESH_BENCH_DIR")
    return Path(value) if value else None


def median_time(action: Callable[[], object], repeat: int) -> tuple[float, list[float]]:
    """The median wall time of ``repeat`` calls, after one warm-up call."""
    action()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


@dataclass
class Result:
    """One benchmark's measurements: headline rows for the table, everything for the file."""

    name: str
    goal: str
    headline: list[tuple[str, str]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def write(self) -> Path:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{self.name}.json"
        document = {
            "benchmark": self.name,
            "goal": self.goal,
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                # Other work on the machine skews absolute times; ratios within a run less so.
                "load_average_1m": os.getloadavg()[0],
            },
            **self.data,
        }
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        return path


def show(results: list[Result]) -> None:
    """Print every result's headline figures as one table."""
    view = Table(title="hexmesh benchmarks", header_style="bold cyan")
    for column in ("benchmark", "measure", "value", "goal"):
        view.add_column(column)
    for result in results:
        for index, (measure, value) in enumerate(result.headline):
            first = index == 0
            view.add_row(result.name if first else "", measure, value, result.goal if first else "")
    console.print(view)
