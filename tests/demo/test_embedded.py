"""The demo on the embedded default: the registration service's table in SQLite, nothing else running."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from hexmesh.demo import DemoResult, run_demo
from hexmesh.demo.database import POSTGRES_VARIABLE
from hexmesh.errors import HexmeshError
from hexmesh.lifecycle import Workspace

SCALE = 0.01
HEXMESH = Path(sys.executable).parent / "hexmesh"

Demo = tuple[Workspace, DemoResult, list[Any]]


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """A two-day demo workspace made with no PostgreSQL asked for."""
    saved = os.environ.pop(POSTGRES_VARIABLE, None)
    try:
        workspace = Workspace.open(tmp_path_factory.mktemp("embedded") / "home")
        said: list[Any] = []
        yield workspace, run_demo(workspace, scale=SCALE, days=2, say=said.append), said
    finally:
        if saved is not None:
            os.environ[POSTGRES_VARIABLE] = saved


def _registered(file: Path) -> set[str]:
    with closing(sqlite3.connect(file)) as conn:
        return {r[0] for r in conn.execute("select user_id from registrations where event_type = 'user_registered'")}


def test_the_demo_keeps_the_registration_table_in_sqlite_and_says_so(embedded: Demo) -> None:
    workspace, result, said = embedded
    file = workspace.settings.home / "landing" / "registrations.sqlite"
    words = " ".join(" ".join(str(x) for x in said).split())
    assert f"The registration service's table: SQLite {file}" in words
    assert "hexmesh demo --postgres URL" in words and f"{POSTGRES_VARIABLE}=URL" in words
    assert len(result.days) == 2 and result.unchanged is True
    manifest = json.loads((workspace.settings.home / "landing" / "_demo.json").read_text())
    assert manifest["registrations"] == "sqlite"
    # Every registered user became a profile, each exactly once, over two incremental runs.
    profiles = workspace.read("dp://users/user-profiles/profiles").column("user_id").to_pylist()
    assert len(profiles) == len(set(profiles)) and set(profiles) == _registered(file) != set()


def test_a_later_run_without_the_variable_reads_the_same_table(embedded: Demo) -> None:
    workspace = embedded[0]
    file = workspace.settings.home / "landing" / "registrations.sqlite"
    with closing(sqlite3.connect(file)) as conn, conn:
        conn.execute(
            "insert into registrations (event_id, event_type, user_id, registered_at, email, birth_year, country, "
            "plan, platform, marketing_opt_in) values ('late-1', 'user_registered', 'u-late', "
            "'2026-12-01T09:00:00+00:00', 'late@example.com', 1990, 'de', 'free', 'web', 0)"
        )
    env = {k: v for k, v in os.environ.items() if k not in ("HEXMESH_HOME", POSTGRES_VARIABLE)}
    done = subprocess.run(
        [str(HEXMESH), "run", "users/user-profiles", "--home", str(workspace.settings.home)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    profiles = workspace.read("dp://users/user-profiles/profiles").column("user_id").to_pylist()
    assert profiles.count("u-late") == 1


def test_asking_for_postgresql_on_a_sqlite_workspace_is_refused_before_anything_changes(embedded: Demo) -> None:
    workspace = embedded[0]
    manifest = workspace.settings.home / "landing" / "_demo.json"
    before = manifest.read_text()
    with pytest.raises(HexmeshError, match=r"registration table is in sqlite, not postgresql: .*unset HEXMESH_DEMO"):
        run_demo(workspace, scale=SCALE, days=3, say=lambda _: None, postgres="postgresql://x@127.0.0.1:1/d")
    assert manifest.read_text() == before
