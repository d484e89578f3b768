"""Three nodes against one: 30 independent products made due by one commit, run by the cluster.

One source product and 30 products that each read it (independent of each other). A commit of the
source makes all 30 due; every node's scheduler runs what it wins the lease of, one product at a
time. Measured: seconds from the source's publication to the last of the 30 publications, with one
node and with three (fresh clusters, interleaved), and which node ran how many. On this 2-core
machine the nodes share the CPU, PostgreSQL and the catalog: the speed-up shows where that stops.

Measured on 2 cores shared with other work (load ~20): the runs spread evenly (11/8/11), but each
took three times as long, so three nodes were no faster than one (0.87×): more nodes help only
where there are idle cores (or hosts) for them; on a saturated machine they only share it.
"""

from __future__ import annotations

import collections
import os
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from bench.report import Result, work_dir
from hexmesh.infra.state import RunRecord
from tests.cluster.nodes import cluster
from tests.cluster.test_failover import RAW, wait

__all__ = ["run"]

PRODUCTS = 30
_DEPENDENT = """
domain: sales
name: p{index}
version: 1.0.0
owner: sales@example.com
description: One of many independent products.
inputPorts:
  - {{name: raw, from: 'dp://sales/raw/out', window: incremental}}
transformation: {{sql: transform.sql}}
outputPorts:
  - name: out
    properties:
      - {{name: order_id, logicalType: integer, required: true}}
      - {{name: amount, logicalType: number}}
"""


def _products(root: Path) -> list[Path]:
    folders = []
    for index, (spec, sql) in enumerate(
        [(RAW, "select order_id, amount from files")]
        + [(_DEPENDENT.format(index=i), "select order_id, amount * 2 as amount from raw") for i in range(PRODUCTS)]
    ):
        folder = root / "products" / f"f{index}"
        (folder / "data").mkdir(parents=True)
        (folder / "dataproduct.yaml").write_text(textwrap.dedent(spec).lstrip())
        (folder / "transform.sql").write_text(sql)
    (root / "products" / "f0" / "data" / "orders.csv").write_text(
        "order_id,amount\n" + "\n".join(f"{i},{i}.5" for i in range(1000)) + "\n"
    )
    folders = sorted((root / "products").iterdir(), key=lambda p: int(p.name[1:]))
    return folders


def _once(root: Path, nodes: int) -> dict[str, object]:
    folders = _products(root)
    with cluster(root) as mesh:
        started = [mesh.node(f"node-{i}") for i in range(nodes)]
        admin = mesh.workspace(started[0])
        try:
            admin.deploy(folders)
            for node in started:
                mesh.start(node)
            state = admin.runtime.state
            published = admin.run("sales/raw").published_at
            assert published is not None
            keys = [f"sales/p{i}" for i in range(PRODUCTS)]

            def done() -> list[RunRecord]:
                return [r for key in keys for r in state.runs(key, limit=5) if r.status == "succeeded"]

            wait("all products to run", lambda: len(done()) >= PRODUCTS, seconds=900)
            runs = done()
            last = max(r.finished_us or 0 for r in runs)
            seconds = (last - int(published.timestamp() * 1e6)) / 1e6
            by_node = collections.Counter(r.host for r in runs)
            own = sum((r.finished_us or 0) - r.started_us for r in runs) / 1e6
            return {"nodes": nodes, "seconds": seconds, "runs_by_node": dict(by_node), "sum_of_runs_s": own}
        finally:
            admin.close()


def run(rounds: int = 2) -> Result:
    base = work_dir()
    measured: dict[int, list[dict[str, object]]] = {1: [], 3: []}
    for index in range(rounds):  # interleaved: 1, 3, 1, 3
        for nodes in (1, 3):
            root = Path(tempfile.mkdtemp(prefix=f"hexmesh-bench-scale-{nodes}-{index}-", dir=base))
            try:
                measured[nodes].append(_once(root, nodes))
            finally:
                shutil.rmtree(root, ignore_errors=True)
            time.sleep(1)
    one = statistics.median(float(m["seconds"]) for m in measured[1])  # type: ignore[arg-type]
    three = statistics.median(float(m["seconds"]) for m in measured[3])  # type: ignore[arg-type]
    result = Result("cluster-scale", "report the speed-up of three nodes over one, and where it stops")
    result.headline.append(("30 products, 1 node", f"{one:.1f} s"))
    result.headline.append(("30 products, 3 nodes", f"{three:.1f} s = {one / three:.2f}× speed-up"))
    result.data = {"products": PRODUCTS, "rounds": {str(k): v for k, v in measured.items()}, "cpus": os.cpu_count()}
    return result


if __name__ == "__main__":
    outcome = run(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
    print(outcome.write())
    for measure, value in outcome.headline:
        print(f"{measure}: {value}")
