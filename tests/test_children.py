"""Servers a test run starts die with it, even when it is killed; the next run reaps what is left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests import children, stacks

ROOT = Path(__file__).resolve().parents[1]


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie, dead but not yet waited for, is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _gone(pid: int) -> bool:
    for _ in range(200):  # the kernel signals at once; allow a loaded machine 10 s
        if not _running(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(children, "RECORDS", tmp_path / "records")
    return tmp_path / "records"


@pytest.fixture
def sleepers() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.kill()
        process.wait()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_server_dies_with_the_killed_process_that_started_it(records: Path) -> None:
    script = (
        "import sys, time; from pathlib import Path; from tests import children; "
        f"children.RECORDS = Path({str(records)!r}); "
        "server = children.start(['sleep', '600']); print(server.pid, flush=True); time.sleep(600)"
    )
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=ROOT, text=True) as owner:
        try:
            assert owner.stdout is not None
            pid = int(owner.stdout.readline())
            assert _running(pid) and (records / f"{pid}.json").is_file()
        finally:
            owner.kill()  # SIGKILL: no finally, no atexit, no fixture teardown runs in it
    gone = _gone(pid)
    if not gone:
        os.kill(pid, signal.SIGKILL)
    assert gone, f"server {pid} outlived the killed process that started it"
    assert children.reap() == []  # nothing left to kill; the stale record is dropped
    assert not list(records.iterdir())


def test_the_next_run_reaps_servers_of_runs_that_are_gone_and_only_those(
    records: Path, sleepers: list[subprocess.Popen[bytes]]
) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    orphan, ours, reused = (subprocess.Popen(["sleep", "600"]) for _ in range(3))
    sleepers += [orphan, ours, reused]
    records.mkdir()
    for process, owner, argv in (
        (orphan, dead.pid, ["sleep", "600"]),
        (ours, os.getpid(), ["sleep", "600"]),  # a run still going (this one) owns it
        (reused, dead.pid, ["nats-server", "-js"]),  # its pid now runs something else
    ):
        record = {"pid": process.pid, "owner": owner, "argv": argv}
        (records / f"{process.pid}.json").write_text(json.dumps(record))
    assert children.reap() == [orphan.pid]
    orphan.wait(timeout=10)
    assert _running(ours.pid) and _running(reused.pid)
    assert [p.name for p in records.iterdir()] == [f"{ours.pid}.json"]


@pytest.mark.postgres
def test_the_next_run_drops_databases_of_runs_that_are_gone_and_only_those() -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    gone, ours = f"hexmesh_stack_{dead.pid}_0123456789", f"hexmesh_stack_{os.getpid()}_0123456789"
    with psycopg.connect(stacks.ADMIN_DSN, autocommit=True) as conn:
        for name in (gone, ours):
            conn.execute(f'create database "{name}"')
        try:
            dropped = stacks.reap_databases()
            left = {str(r[0]) for r in conn.execute("select datname from pg_database")}
        finally:
            for name in (gone, ours):
                conn.execute(f'drop database if exists "{name}" with (force)')
    assert gone in dropped and ours not in dropped
    assert gone not in left and ours in left
