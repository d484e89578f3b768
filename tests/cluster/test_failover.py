"""Nodes that share a mesh: kill -9 the node running a product; it runs once elsewhere, nothing is lost.

Real processes: two ``hexmesh serve`` nodes with schedulers, on one PostgreSQL (state and catalog),
one NATS server (events), one warehouse and object storage.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.cluster.nodes import ClusterNode, cluster

RAW = """
domain: sales
name: raw
version: 1.0.0
owner: sales@example.com
description: Orders as they land.
trigger: manual
inputPorts:
  - {name: files, source: {format: csv, path: data}, window: incremental}
transformation: {sql: transform.sql}
outputPorts:
  - name: out
    properties:
      - {name: order_id, logicalType: integer, required: true}
      - {name: amount, logicalType: number}
"""

# Slow enough to be killed in the middle of it.
ENRICHED = """
domain: sales
name: enriched
version: 1.0.0
owner: sales@example.com
description: Orders, a little later.
trigger: upstream
inputPorts:
  - {name: raw, from: 'dp://sales/raw/out', window: incremental}
transformation: {python: transform.py:build}
outputPorts:
  - name: out
    properties:
      - {name: order_id, logicalType: integer, required: true}
      - {name: amount, logicalType: number}
"""
SLOW = """
import time

def build(inputs):
    time.sleep(4)
    return inputs["raw"]
"""
EVENTS = "/products/sales/enriched/ports/out/events"


def products(root: Path) -> list[Path]:
    raw, enriched = root / "products" / "raw", root / "products" / "enriched"
    for folder, spec, files in (
        (raw, RAW, {"transform.sql": "select order_id, amount from files"}),
        (enriched, ENRICHED, {"transform.py": SLOW}),
    ):
        (folder / "data").mkdir(parents=True)
        (folder / "dataproduct.yaml").write_text(spec.lstrip())
        for name, text in files.items():
            (folder / name).write_text(text.lstrip())
    return [raw, enriched]


def land(raw: Path, first: int, count: int) -> None:
    rows = "\n".join(f"{i},{i}.5" for i in range(first, first + count))
    (raw / "data" / f"orders-{first}.csv").write_text(f"order_id,amount\n{rows}\n")


def wait(what: str, condition: Callable[[], bool], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def events(node: ClusterNode, headers: dict[str, str] | None = None) -> list[tuple[str, dict[str, object]]]:
    """A finite SSE read of the port's row events: (id, CloudEvent) pairs."""
    found: list[tuple[str, dict[str, object]]] = []
    event_id, data = "", []
    with (
        httpx.Client(base_url=node.url, timeout=30) as http,
        http.stream("GET", EVENTS, params={"follow": False}, headers=headers or {}) as response,
    ):
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("data: "):
                data.append(line[6:])
            elif not line and data:
                found.append((event_id, json.loads("".join(data))))
                data = []
    return [(i, e) for i, e in found if "order_id" in e.get("data", {})]  # type: ignore[operator]


def order_ids(found: list[tuple[str, dict[str, object]]]) -> list[int]:
    return sorted(int(e["data"]["order_id"]) for _, e in found)  # type: ignore[index]


@pytest.mark.postgres
@pytest.mark.slow
def test_a_node_killed_mid_run_the_run_completes_once_elsewhere_and_consumers_miss_nothing(tmp_path: Path) -> None:
    raw, enriched = products(tmp_path)
    # Each node on a host of its own (a network namespace), where the machine allows it.
    with cluster(tmp_path, separate_hosts=2) as mesh:
        a, b = mesh.node("node-a"), mesh.node("node-b")
        admin = mesh.workspace(a)
        try:
            land(raw, 1, 50)
            admin.deploy([raw, enriched])
            for node in (a, b):
                mesh.start(node)
            runs = admin.runtime.state.runs
            admin.run("sales/raw")
            wait("the first run of sales/enriched", lambda: [r.status for r in runs("sales/enriched")] == ["succeeded"])
            wait("the first events on both nodes", lambda: len(events(a)) == len(events(b)) == 50)
            before_a, before_b = events(a), events(b)
            assert [i for i, _ in before_a] == [i for i, _ in before_b]  # one log, the same ids on every node

            land(raw, 1000, 30)
            admin.run("sales/raw")
            wait("a node running sales/enriched", lambda: any(r.status == "running" for r in runs("sales/enriched")))
            running = next(r for r in runs("sales/enriched") if r.status == "running")
            victim, survivor = (a, b) if running.host == "node-a" else (b, a)
            victim.kill()
            killed_at = time.monotonic()
            wait(
                "the run to complete on the surviving node",
                lambda: sum(r.status == "succeeded" for r in runs("sales/enriched")) == 2,
                seconds=90,
            )
            failover = time.monotonic() - killed_at

            history = runs("sales/enriched")
            assert sorted(r.status for r in history) == ["failed", "succeeded", "succeeded"]
            (dead,) = [r for r in history if r.status == "failed"]
            assert dead.id == running.id and dead.host == victim.name and "abandoned" in (dead.error or "")
            assert history[0].status == "succeeded" and history[0].host == survivor.name
            reader = admin.reader("dp://sales/enriched/out")
            assert len(reader.publications()) == 2  # the killed run published nothing; the retry once
            assert admin.read("dp://sales/enriched/out").num_rows == 80

            # A consumer of the dead node reconnects to the survivor with the last id it was sent.
            wait("the new events", lambda: len(events(survivor)) == 80)
            resumed = events(survivor, headers={"Last-Event-ID": before_a[-1][0]})
            rows = order_ids(resumed)
            assert rows == list(range(1000, 1030))  # every new row, none twice, none from before
            assert order_ids(before_a) + rows == [*range(1, 51), *range(1000, 1030)]
        finally:
            admin.close()
    print(f"failover: {failover:.1f} s from kill -9 to the run completing on {survivor.name}")
