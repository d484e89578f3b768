"""Leases in the state store: seconds long, renewed by heartbeat, taken over when a node stops, fenced."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import insert, update

from hexmesh.errors import LeaseLostError
from hexmesh.infra.state import Heartbeat, StateStore, now_us
from hexmesh.infra.state import schema as t

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SECOND = 1_000_000


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    if request.param == "sqlite":
        store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
        yield store
        store.close()
        return
    name = f"hexmesh_test_leases_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    store = StateStore(f"postgresql://postgres@127.0.0.1:5432/{name}")
    try:
        yield store
    finally:
        store.close()
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'drop database "{name}" with (force)')


def on_another_host(state: StateStore, name: str) -> None:
    """Make lease ``name`` look held by a live process elsewhere: only its expiry can free it."""
    with state.transaction() as conn:
        conn.execute(update(t.locks).where(t.locks.c.name == name).values(host="node-elsewhere", pid=1))


def test_a_lease_of_a_node_that_stops_renewing_is_taken_over_once_it_expires(state: StateStore) -> None:
    assert state.acquire_lock("run:sales/shop@1", "run-a", SECOND // 2) is None
    on_another_host(state, "run:sales/shop@1")
    holder = state.acquire_lock("run:sales/shop@1", "run-b", SECOND)
    assert holder is not None and holder["owner"] == "run-a" and holder["host"] == "node-elsewhere"
    time.sleep(0.6)
    assert state.acquire_lock("run:sales/shop@1", "run-b", SECOND) is None
    assert not state.renew_lock("run:sales/shop@1", "run-a", SECOND)  # the old holder knows it lost it


def test_a_heartbeat_keeps_a_lease_past_its_length_and_it_ends_when_the_beats_stop(state: StateStore) -> None:
    assert state.acquire_lock("emit:sales/shop", "node-a", SECOND * 6 // 10) is None
    on_another_host(state, "emit:sales/shop")
    beat = Heartbeat(state, "emit:sales/shop", "node-a", SECOND * 6 // 10)
    try:
        time.sleep(1.5)  # two and a half lease lengths
        holder = state.acquire_lock("emit:sales/shop", "node-b", SECOND)
        assert holder is not None and holder["owner"] == "node-a"
        assert not beat.lost
    finally:
        beat.stop()
    time.sleep(0.7)
    assert state.acquire_lock("emit:sales/shop", "node-b", SECOND) is None


def test_a_run_that_lost_its_lease_cannot_publish(state: StateStore) -> None:
    with state.transaction() as conn:
        state.product_id(conn, "sales/shop", create=True)
    lease = ("run:sales/shop@1", SECOND // 5)
    assert state.acquire_lock(lease[0], "run-a", lease[1]) is None
    state.start_run("run-a", "sales/shop", "1.0.0", 1, "manual")
    on_another_host(state, lease[0])
    time.sleep(0.3)
    assert state.acquire_lock(lease[0], "run-b", SECOND) is None  # another node took over
    with pytest.raises(LeaseLostError, match=r"run:sales/shop@1.*ran out.*nothing was committed.*lease_seconds"):
        state.finish_run("run-a", "succeeded", details={"rows": 1}, lease=lease)
    (run,) = state.runs("sales/shop")
    assert run.status == "running" and run.details == {}  # the transaction rolled back


def test_runs_left_running_without_a_live_lease_are_abandoned_on_any_host(state: StateStore) -> None:
    with state.transaction() as conn:
        state.product_id(conn, "sales/shop", create=True)
    for run_id in ("dead", "alive"):
        state.start_run(run_id, "sales/shop", "1.0.0", 1, "manual", node="node-elsewhere")
    assert state.acquire_lock("run:sales/shop@1", "dead", SECOND // 5) is None
    on_another_host(state, "run:sales/shop@1")
    assert state.acquire_lock("run:sales/shop@2", "alive", 60 * SECOND) is None
    on_another_host(state, "run:sales/shop@2")
    time.sleep(0.3)
    assert state.abandon_runs("sales/shop", "abandoned: its node stopped") == 1
    runs = {r.id: (r.status, r.error, r.host) for r in state.runs("sales/shop")}
    assert runs == {
        "dead": ("failed", "abandoned: its node stopped", "node-elsewhere"),
        "alive": ("running", None, "node-elsewhere"),
    }


def test_a_lease_of_a_killed_process_not_yet_reaped_is_free_at_once(state: StateStore) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with state.transaction() as conn:
            conn.execute(
                insert(t.locks).values(
                    name="run:sales/shop@1", owner="run-a", host=socket.gethostname(), pid=child.pid,
                    acquired_us=now_us(), expires_us=now_us() + 60 * SECOND,
                )
            )  # fmt: skip
        holder = state.acquire_lock("run:sales/shop@1", "run-b", SECOND)
        assert holder is not None and holder["owner"] == "run-a"  # alive: its lease holds
        child.send_signal(signal.SIGKILL)
        time.sleep(0.3)  # a zombie now: its parent (this test) has not waited for it yet
        assert state.acquire_lock("run:sales/shop@1", "run-b", SECOND) is None
    finally:
        child.kill()
        child.wait()
