"""Two runs at once, and a run killed with SIGKILL halfway, with real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hexmesh.errors import ConcurrentRunError
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Scheduler, Workspace
from tests.support import ORDERS_SPEC, ProductFactory, orders_csv

# The transformation waits for a release file in its bundle (which its sandbox may read), or 120 s.
SLOW = """
import time
from pathlib import Path

def build(inputs):
    here = Path(__file__).parent
    for _ in range(1200):
        if (here / "release").exists():
            break
        time.sleep(0.1)
    return inputs["raw"].select(["order_id", "customer", "ordered_at", "amount"])
"""


@pytest.fixture
def slow(workspace: Workspace, make_product: ProductFactory, tmp_path: Path) -> Path:
    folder = make_product(
        "orders",
        ORDERS_SPEC.replace("sql: transform.sql", "python: transform.py:build"),
        {"transform.py": SLOW, "data/a.csv": orders_csv(1, 3)},
    )
    workspace.deploy([folder])
    return folder


def start_run(workspace: Workspace, bundle_root: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HEXMESH_HOME": str(workspace.settings.home)}
    log = bundle_root / "run.log"
    with log.open("wb") as sink:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "hexmesh.cli.main", "run", "sales/orders"],
            env=env,
            stdout=sink,
            stderr=sink,
        )
    for _ in range(600):  # the transformation started once its sandbox process exists
        if _children(process.pid) or process.poll() is not None:
            break
        time.sleep(0.1)
    assert _children(process.pid), log.read_text()
    return process


def _children(pid: int) -> list[str]:
    """Processes started by ``pid`` (the sandbox of its Python transformation, once it runs)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += (task / "children").read_text().split()
        except OSError:  # the thread or the process ended meanwhile
            continue
    return found


def bundles(workspace: Workspace) -> Path:
    """The deployed bundle, where the slow transformation looks for its release file."""
    return workspace.deployed()["sales/orders"].bundle


def test_a_second_run_fails_cleanly_while_the_first_holds_the_lock(workspace: Workspace, slow: Path) -> None:
    process = start_run(workspace, bundles(workspace))
    try:
        with pytest.raises(ConcurrentRunError, match=rf"already running .*pid {process.pid}.*--wait"):
            workspace.run("sales/orders")
    finally:
        (bundles(workspace) / "release").write_text("1")
        process.wait(timeout=120)
    assert process.returncode == 0, (bundles(workspace) / "run.log").read_text()
    assert workspace.read("dp://sales/orders/orders").num_rows == 3
    assert [r.status for r in workspace.runtime.state.runs("sales/orders")] == ["succeeded"]


def test_a_waiting_run_goes_after_the_first(workspace: Workspace, slow: Path) -> None:
    process = start_run(workspace, bundles(workspace))
    (bundles(workspace) / "release").write_text("1")
    second = workspace.run("sales/orders", wait=120)
    assert process.wait(timeout=120) == 0
    assert second.status == "skipped"  # the first run already read the only file
    assert workspace.read("dp://sales/orders/orders").num_rows == 3


def test_a_run_killed_halfway_leaves_the_last_snapshot_and_the_next_run_succeeds(
    workspace: Workspace, slow: Path
) -> None:
    (bundles(workspace) / "release").write_text("1")
    workspace.run("sales/orders")  # a first good snapshot
    (bundles(workspace) / "release").unlink()
    (slow / "data" / "b.csv").write_text(orders_csv(10, 4))
    process = start_run(workspace, bundles(workspace))
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    reader = workspace.reader("dp://sales/orders/orders")
    assert workspace.read(reader.address).num_rows == 3
    assert len(reader.publications()) == 1
    (bundles(workspace) / "release").write_text("1")
    result = workspace.run("sales/orders")
    assert result.status == "succeeded"
    assert sorted(workspace.read(reader.address).column("order_id").to_pylist()) == [1, 2, 3, 10, 11, 12, 13]
    statuses = {r.id: (r.status, r.error) for r in workspace.runtime.state.runs("sales/orders")}
    killed = [s for s in statuses.values() if s[0] == "failed"]
    assert killed and "abandoned" in (killed[0][1] or "")


def test_a_frozen_node_loses_its_lease_another_runs_the_product_and_only_one_run_publishes(
    workspace: Workspace, slow: Path
) -> None:
    # A node frozen mid-run (SIGSTOP: alive, but renewing nothing) looks like a node cut off from the mesh.
    (workspace.settings.home / "settings.yaml").write_text("lease_seconds: 1\n")
    process = start_run(workspace, bundles(workspace))
    os.kill(process.pid, signal.SIGSTOP)
    try:
        other = Workspace(Settings.load(workspace.settings.home))
        try:
            (bundles(workspace) / "release").write_text("1")
            result = other.run("sales/orders", wait=30)  # takes the lease over once it runs out
            assert result.status == "succeeded"
        finally:
            other.close()
    finally:
        os.kill(process.pid, signal.SIGCONT)
    assert process.wait(timeout=120) == ConcurrentRunError.exit_code  # LeaseLostError is one
    log = (bundles(workspace) / "run.log").read_text()
    assert "ran out before its work committed" in log
    reader = workspace.reader("dp://sales/orders/orders")
    assert len(reader.publications()) == 1 and workspace.read(reader.address).num_rows == 3
    statuses = sorted(r.status for r in workspace.runtime.state.runs("sales/orders"))
    assert statuses == ["failed", "succeeded"]


def test_the_node_notices_a_killed_run_without_running_the_product_again(
    workspace: Workspace, make_product: ProductFactory
) -> None:
    # A manual product is never run again by itself: the node's scheduler must notice the dead run.
    spec = ORDERS_SPEC.replace("sql: transform.sql", "python: transform.py:build") + "trigger: manual\n"
    folder = make_product("orders", spec, {"transform.py": SLOW, "data/a.csv": orders_csv(1, 3)})
    (workspace.settings.home / "settings.yaml").write_text("lease_seconds: 1\n")
    node = Workspace(Settings.load(workspace.settings.home))
    try:
        node.deploy([folder])
        process = start_run(node, bundles(node))
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        assert [r.status for r in node.runtime.state.runs("sales/orders")] == ["running"]
        scheduler = Scheduler(node.runtime, poll_interval=0.1)
        try:
            for _ in range(300):  # the dead run's lease runs out after a second
                assert scheduler.tick() == []  # nothing is due: the product is manual
                (run,) = node.runtime.state.runs("sales/orders")
                if run.status != "running":
                    break
                time.sleep(0.1)
        finally:
            scheduler.stop()
        assert run.status == "failed" and (run.error or "").startswith("abandoned: its process died")
        assert node.reader("dp://sales/orders/orders").publications() == []
    finally:
        node.close()
