"""Separate hosts: kill -9 the node running a product; it runs once elsewhere, consumers miss nothing.

Real processes, each in a network namespace of its own (loopback where the machine has none): two
``hexmesh serve`` nodes of the sales domain's cluster — with schedulers, on one PostgreSQL (state and
catalog), one NATS server (events) and one SeaweedFS S3 server (warehouse and object storage) — and
a node of the marketing domain with embedded storage of its own, which shares nothing with them and
reads the sales cluster's orders as an input across nodes (through either cluster node's files port).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
import pyarrow.fs as pafs
import pytest

from hexmesh.lifecycle import Workspace
from tests.cluster.network import namespaces_available
from tests.cluster.nodes import ClusterNode, cluster
from tests.stacks import S3Server

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


CAMPAIGNS = """
domain: marketing
name: campaigns
version: 1.0.0
owner: marketing@example.com
description: Campaigns, on a node of the marketing domain's own.
trigger: manual
inputPorts:
  - {name: files, source: {format: csv, path: data}, window: incremental}
transformation: {sql: transform.sql}
outputPorts:
  - name: out
    properties:
      - {name: campaign_id, logicalType: integer, required: true}
      - {name: channel, logicalType: string}
"""
# The marketing node's product reading the sales cluster's port: it runs when the cluster publishes.
REACH = """
domain: marketing
name: reach
version: 1.0.0
owner: marketing@example.com
description: The orders the sales domain's cluster serves, as marketing reaches them.
inputPorts:
  - {name: orders, from: 'dp://sales/enriched/out', window: incremental}
transformation: {sql: transform.sql}
outputPorts:
  - name: out
    properties:
      - {name: order_id, logicalType: integer, required: true}
      - {name: amount, logicalType: number}
"""
#: What an SQL consumer of the enriched orders asks, from the last order id it holds.
ORDERS_AFTER = "select order_id from sales.enriched__out where order_id > {after} order by order_id"
#: An operator token in node-a's tokens.yaml (clear text, as a node's setting).
OPERATOR_TOKEN = "ops-s3cret-of-node-a"


def marketing_products(root: Path) -> list[Path]:
    campaigns, reach = root / "products" / "campaigns", root / "products" / "reach"
    (campaigns / "data").mkdir(parents=True)
    (campaigns / "dataproduct.yaml").write_text(CAMPAIGNS.lstrip())
    (campaigns / "transform.sql").write_text("select campaign_id, channel from files\n")
    (campaigns / "data" / "campaigns.csv").write_text("campaign_id,channel\n1,mail\n2,web\n3,radio\n")
    reach.mkdir(parents=True)
    (reach / "dataproduct.yaml").write_text(REACH.lstrip())
    (reach / "transform.sql").write_text("select order_id, amount from orders\n")
    return [campaigns, reach]


def sql_order_ids(connection: psycopg.Connection[tuple[int]], after: int = 0) -> list[int]:
    return [row[0] for row in connection.execute(ORDERS_AFTER.format(after=after)).fetchall()]


def reach_ids(node: ClusterNode) -> list[int]:
    """The order ids marketing/reach has published, as its SQL port answers (none while it has no table)."""
    try:
        with psycopg.connect(node.sql, autocommit=True, connect_timeout=10) as connection:
            rows = connection.execute("select order_id from marketing.reach__out order by order_id").fetchall()
    except psycopg.Error:
        return []
    return [row[0] for row in rows]


def s3_files(server: S3Server, path: str) -> list[str]:
    fs = pafs.S3FileSystem(
        access_key=server.access_key, secret_key=server.secret_key, endpoint_override=server.endpoint,
        region="us-east-1", force_virtual_addressing=False,
    )  # fmt: skip
    found = fs.get_file_info(pafs.FileSelector(path, recursive=True, allow_not_found=True))
    return [info.path for info in found if info.type == pafs.FileType.File]


@pytest.mark.postgres
@pytest.mark.slow
def test_a_node_killed_mid_run_the_run_completes_once_elsewhere_and_consumers_miss_nothing(
    tmp_path: Path, s3_server: S3Server
) -> None:
    raw, enriched = products(tmp_path)
    marketing = marketing_products(tmp_path)
    # Each node on a host of its own (a network namespace), where the machine allows it.
    with cluster(tmp_path, separate_hosts=3, s3=s3_server) as mesh:
        a, b, c = mesh.node("node-a"), mesh.node("node-b"), mesh.node("node-c", standalone=True)
        if namespaces_available():
            assert len({a.host.netns, b.host.netns, c.host.netns}) == 3
        (a.home / "tokens.yaml").write_text(f"{OPERATOR_TOKEN}: {{name: platform, role: governance}}\n")
        admin = mesh.workspace(a)
        own: Workspace | None = None
        consumers: list[psycopg.Connection[tuple[int]]] = []
        try:
            land(raw, 1, 50)
            admin.deploy([raw, enriched])
            for node in (a, b):
                mesh.start(node)

            # The cluster keeps tables and bundles on S3, nothing in a shared folder.
            assert s3_files(s3_server, f"storage/{mesh.prefix}/bundle-store")
            assert not (tmp_path / "shared").exists()
            # An operator token of node-a acts on node-b: the cluster keeps it, hashed, not node-a's disk.
            assert not (a.home / "tokens.yaml").exists()
            operator = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
            paused = httpx.post(f"{b.url}/products/sales/raw/control/pause", headers=operator, timeout=30)
            assert paused.status_code == 200 and paused.json()["paused"] is True, paused.text
            seen_on_a = httpx.get(f"{a.url}/products/sales/raw/control", headers=operator, timeout=30)
            assert seen_on_a.json()["hexmesh:paused"] is True, seen_on_a.text  # one state, every node
            resumed = httpx.post(f"{b.url}/products/sales/raw/control/resume", headers=operator, timeout=30)
            assert resumed.status_code == 200 and resumed.json()["paused"] is False, resumed.text

            runs = admin.runtime.state.runs
            admin.run("sales/raw")
            wait("the first run of sales/enriched", lambda: [r.status for r in runs("sales/enriched")] == ["succeeded"])
            wait("the first events on both nodes", lambda: len(events(a)) == len(events(b)) == 50)
            before_a, before_b = events(a), events(b)
            assert [i for i, _ in before_a] == [i for i, _ in before_b]  # one log, the same ids on every node
            assert any(f.endswith(".parquet") for f in s3_files(s3_server, f"warehouse/{mesh.prefix}"))
            # SQL consumers, one on each node of the cluster, over the PostgreSQL wire protocol.
            for node in (a, b):
                consumers.append(psycopg.connect(node.sql, autocommit=True, connect_timeout=10))
            held = [sql_order_ids(connection) for connection in consumers]
            assert held == [list(range(1, 51))] * 2

            # The marketing node finds the sales orders on the cluster's nodes and reads them as an input.
            peers = mesh.peers(c, a, b)
            c.configure(peers=peers)
            own = mesh.workspace(c)
            own.deploy(marketing)
            own.run("marketing/campaigns")
            mesh.start(c)
            reached = own.runtime.state.runs
            wait("marketing/reach to read the first orders", lambda: reach_ids(c) == list(range(1, 51)))

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

            # An SSE consumer of the dead node reconnects to the survivor with the last id it was sent.
            wait("the new events", lambda: len(events(survivor)) == 80)
            resumed_events = events(survivor, headers={"Last-Event-ID": before_a[-1][0]})
            rows = order_ids(resumed_events)
            assert rows == list(range(1000, 1030))  # every new row, none twice, none from before
            assert order_ids(before_a) + rows == [*range(1, 51), *range(1000, 1030)]

            # The SQL consumer of the dead node loses its connection, reconnects to the survivor and
            # goes on from the last order it holds: every new row, none twice.
            lost = consumers[[a, b].index(victim)]
            with pytest.raises(psycopg.OperationalError):
                sql_order_ids(lost)
            with psycopg.connect(survivor.sql, autocommit=True, connect_timeout=10) as again:
                caught_up = sql_order_ids(again, after=max(held[0]))
            assert caught_up == list(range(1000, 1030))
            assert sql_order_ids(consumers[[a, b].index(survivor)]) == [*range(1, 51), *range(1000, 1030)]

            # The marketing node's scheduler saw the cluster publish again and read only the new orders,
            # from the node that is still up.
            wait("marketing/reach to read the new orders", lambda: reach_ids(c) == [*range(1, 51), *range(1000, 1030)])
            latest = next(r for r in reached("marketing/reach") if r.status == "succeeded")
            assert latest.details["inputs"]["orders"]["peer"] == peers[[a, b].index(survivor)]

            # The marketing domain's node went on serving its own products, and only its own.
            with psycopg.connect(c.sql, autocommit=True, connect_timeout=10) as other:
                channels = other.execute("select channel from marketing.campaigns__out order by campaign_id")
                assert [row[0] for row in channels.fetchall()] == ["mail", "web", "radio"]
            assert httpx.get(f"{c.url}/products/marketing/campaigns", timeout=30).status_code == 200
            assert httpx.get(f"{c.url}/products/sales/enriched", timeout=30).status_code == 404
        finally:
            for connection in consumers:
                connection.close()
            admin.close()
            if own is not None:
                own.close()
    print(f"failover: {failover:.1f} s from kill -9 to the run completing on {survivor.name}")
