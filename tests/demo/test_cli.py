"""``hexmesh demo`` through the real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hexmesh.demo.database import POSTGRES_VARIABLE
from tests.server.nodes import free_port

HEXMESH = Path(sys.executable).parent / "hexmesh"


def _hexmesh(*args: str, postgres: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HEXMESH_HOME", POSTGRES_VARIABLE)}
    if postgres is not None:
        env[POSTGRES_VARIABLE] = postgres
    return subprocess.run([str(HEXMESH), *args], capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.mark.slow
def test_demo_command_builds_the_mesh_and_shows_time_travel(tmp_path: Path, postgres: str) -> None:
    home = tmp_path / "home"
    done = _hexmesh("demo", "--scale", "0.01", "--home", str(home), "--postgres", postgres)
    assert done.returncode == 0, done.stderr
    words = " ".join(done.stdout.split())  # prose wraps at the terminal width; commands do not
    assert "Where to look next" in words
    assert "identical to what was published then" in words
    line = next(x for x in done.stdout.splitlines() if "--as-of" in x)
    moment = line.split("--as-of ")[1].split()[0]

    chart = "dp://podcasts/top-podcasts-daily/chart"
    then = _hexmesh("read", chart, "--as-of", moment, "--format", "json", "--home", str(home))
    now = _hexmesh("read", chart, "--format", "json", "--home", str(home))
    assert then.returncode == 0 and now.returncode == 0, then.stderr + now.stderr
    then_rows = [json.loads(x) for x in then.stdout.splitlines()]
    now_rows = [json.loads(x) for x in now.stdout.splitlines()]
    assert len(then_rows) == 10 and len(now_rows) == 30  # two days, and the lifecycle scene's new day
    assert "deploy 1.1.0: refused" in words and "@2 serves" in words
    # The governance tour: a masked read, an access request approved by the owner, a synthetic variant.
    assert "asks for access for the purpose" in words and "approves it (approved" in words
    assert "refused" in words and "synthetic profiles (" in words
    assert all(row in now_rows for row in then_rows)

    # The variable names the same database as --postgres did.
    again = _hexmesh("demo", "--scale", "0.01", "--home", str(home), postgres=postgres)
    assert again.returncode == 0, again.stderr
    assert "nothing to run" in again.stdout


def test_demo_command_reports_a_bad_scale_clearly(tmp_path: Path) -> None:
    done = _hexmesh("demo", "--scale", "0", "--home", str(tmp_path / "home"))
    assert done.returncode == 1
    assert "must be a positive number" in done.stderr


def test_demo_command_says_how_to_point_it_at_a_reachable_postgres(tmp_path: Path) -> None:
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/hexmesh_demo"  # nothing listens there
    done = _hexmesh("demo", "--scale", "0.01", "--home", str(tmp_path / "home"), postgres=closed)
    assert done.returncode == 1
    message = " ".join(done.stderr.split())
    assert f"PostgreSQL database at {closed}" in message
    assert "HEXMESH_DEMO_POSTGRES=postgresql://" in message and "--postgres" in message
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "home" / "landing").exists()  # refused before generating anything
