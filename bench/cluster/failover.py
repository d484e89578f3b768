"""Failover: seconds from a node's death mid-run to the run completing on another node.

Two nodes with schedulers share PostgreSQL, NATS and storage, with the default lease (15 s). A
dependent product's run (a 4 s transformation) starts on one of them; the benchmark then either
kills that node (SIGKILL: on one host its dead process frees the lease at once) or freezes it
(SIGSTOP: alive but silent, as a node on another host that crashed or was cut off — its lease must
run out). Measured: the time from the signal to the run's publication on the other node. Goal:
under 30 s.
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.report import Result, work_dir
from tests.cluster.nodes import cluster
from tests.cluster.test_failover import land, products, wait

__all__ = ["run"]

LEASE_SECONDS = 15.0


def _once(root: Path, how: signal.Signals) -> float:
    raw, enriched = products(root)
    with cluster(root) as mesh:
        mesh.lease_seconds = LEASE_SECONDS
        a, b = mesh.node("node-a"), mesh.node("node-b")
        admin = mesh.workspace(a)
        try:
            land(raw, 1, 50)
            admin.deploy([raw, enriched])
            for node in (a, b):
                mesh.start(node)
            runs = admin.runtime.state.runs
            admin.run("sales/raw")
            wait("a node running sales/enriched", lambda: any(r.status == "running" for r in runs("sales/enriched")))
            running = next(r for r in runs("sales/enriched") if r.status == "running")
            victim = a if running.host == "node-a" else b
            assert victim.process is not None
            victim.process.send_signal(how)
            signalled = time.monotonic()
            wait("the run elsewhere", lambda: any(r.status == "succeeded" for r in runs("sales/enriched")), 120)
            seconds = time.monotonic() - signalled
            if how == signal.SIGSTOP:
                victim.process.send_signal(signal.SIGCONT)
            return seconds
        finally:
            admin.close()


def run(rounds: int = 2) -> Result:
    base = work_dir()
    measured: dict[str, list[float]] = {"kill": [], "freeze": []}
    for index in range(rounds):  # interleaved: kill, freeze, kill, freeze
        for label, how in (("kill", signal.SIGKILL), ("freeze", signal.SIGSTOP)):
            root = Path(tempfile.mkdtemp(prefix=f"hexmesh-bench-failover-{label}-{index}-", dir=base))
            try:
                measured[label].append(_once(root, how))
            finally:
                shutil.rmtree(root, ignore_errors=True)
    result = Result("cluster-failover", "kill to completion elsewhere < 30 s")
    for label, what in (("kill", "kill -9 (same host)"), ("freeze", f"frozen node ({LEASE_SECONDS:.0f} s lease)")):
        times = measured[label]
        result.headline.append((what, f"median {statistics.median(times):.1f} s (max {max(times):.1f} s)"))
    result.data = {
        "lease_seconds": LEASE_SECONDS,
        "transformation_seconds": 4,
        "scheduler_poll_seconds": 5,
        "seconds": measured,
        "cpus": os.cpu_count(),
        "note": "includes the 4 s transformation run again on the surviving node",
    }
    return result


if __name__ == "__main__":
    outcome = run(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
    print(outcome.write())
    for measure, value in outcome.headline:
        print(f"{measure}: {value}")
