"""The SF10 play-events workspace that the serving benchmarks read (SQL port, files port).

``play_events()`` returns a workspace where ``podcasts/play-events`` is deployed and has run
over two generated days (about 10.5M plays at scale 10, one snapshot per day), and the SQL
table name of its ``plays`` port. Generating and running takes minutes, so the workspace is
kept in ``$HEXMESH_BENCH_DIR/sf<scale>`` (default ``/tmp/hexmesh-bench/sf<scale>``) and reused
once complete: a stamp file, written last, marks it complete (and names the files' layout:
a workspace of an older layout is built again). A folder without the stamp (an
interrupted build) is deleted and built again. A lock file lets several benchmark processes
ask at once: one builds, the others wait and reuse.

``python -m bench.sf10`` builds (or finds) it and prints where it is.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from datetime import date, timedelta
from pathlib import Path

from bench.report import bench_scale
from hexmesh.demo import example_mesh, generate_day
from hexmesh.lifecycle import Workspace
from hexmesh.product.sql.catalog import port_table_name
from hexmesh.spec import load_spec

__all__ = ["PRODUCT", "TABLE", "folder", "play_events"]

PRODUCT = "podcasts/play-events"
#: The SQL name of the ``plays`` port (docs/sql.md's naming scheme), from the example spec.
TABLE = port_table_name(load_spec(example_mesh() / "podcasts" / "play-events" / "dataproduct.yaml").spec, "plays")
STAMP = "_complete.json"
#: How the workspace's files are laid out; a cached workspace of another layout is built again.
#: 2: the plays are sorted by country, the field of play-events' row filter (docs/adr/0044).
LAYOUT = 2
_DAYS = 2
_SEED = 42


def folder(scale: float) -> Path:
    """Where the workspace of ``scale`` lives (``HEXMESH_BENCH_DIR`` or /tmp/hexmesh-bench)."""
    root = Path(os.environ.get("HEXMESH_BENCH_DIR") or "/tmp/hexmesh-bench")
    return root / f"sf{scale:g}"


def play_events(scale: float | None = None) -> tuple[Workspace, str]:
    """The cached play-events workspace at ``scale`` (default ``HEXMESH_BENCH_SCALE``, else 10).

    The caller owns the returned workspace and closes it (it is a context manager).
    """
    scale = bench_scale() if scale is None else scale
    if not scale > 0:
        raise ValueError(f"scale {scale!r} must be a positive number, for example 10 or 0.1")
    root = folder(scale)
    root.parent.mkdir(parents=True, exist_ok=True)
    with (root.parent / f"{root.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building it right now
        if not _complete(root):
            shutil.rmtree(root, ignore_errors=True)
            _build(root, scale)
    return Workspace.open(root / "home"), TABLE


def _complete(root: Path) -> bool:
    """Whether ``root`` holds a finished workspace of the current :data:`LAYOUT`."""
    try:
        return int(json.loads((root / STAMP).read_text(encoding="utf-8")).get("layout", 1)) == LAYOUT
    except (OSError, ValueError):
        return False


def _build(root: Path, scale: float) -> None:
    """Generate two days, deploy play-events and run it once per landed day."""
    started = time.perf_counter()
    home = root / "home"
    yesterday = date.today() - timedelta(days=1)
    days = [yesterday - timedelta(days=n) for n in range(_DAYS - 1, -1, -1)]
    staged = root / "staged"
    plays = rows = 0
    for day in days:
        plays += generate_day(staged, scale=scale, day=day, seed=_SEED, start=days[0]).plays
    # The spec reads ${HEXMESH_HOME}/landing/player_logs; set it only while running.
    previous = os.environ.get("HEXMESH_HOME")
    os.environ["HEXMESH_HOME"] = str(home)
    try:
        with Workspace.open(home) as workspace:
            workspace.deploy([example_mesh() / "podcasts" / "play-events"])
            for day in days:
                # A day's log appears in the landing folder as the player would upload it.
                target = home / "landing" / "player_logs" / f"{day}.csv"
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(staged / "player_logs" / f"{day}.csv", target)
                rows += workspace.run(PRODUCT).rows.get("plays", 0)
    finally:
        if previous is None:
            os.environ.pop("HEXMESH_HOME", None)
        else:
            os.environ["HEXMESH_HOME"] = previous
    shutil.rmtree(staged)  # the landing folder keeps its own links to the logs
    stamp = {
        "scale": scale,
        "layout": LAYOUT,
        "days": [str(d) for d in days],
        "play_log_lines": plays,
        "rows": rows,
        "build_s": round(time.perf_counter() - started, 1),
    }
    # Written last: its presence means the workspace is complete.
    (root / STAMP).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    with play_events()[0] as built:
        print(built.settings.home, (built.settings.home.parent / STAMP).read_text(encoding="utf-8"))
