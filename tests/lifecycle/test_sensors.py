"""Sensors: landed files, HTTP ingest batches and PostgreSQL changes trigger runs through the scheduler."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import yaml

from hexmesh.errors import SpecError
from hexmesh.governance import UNRESTRICTED
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Attempt, Workspace
from hexmesh.product.ingest import ingest_events
from hexmesh.serving.node import Node
from hexmesh.serving.observability import observability_report
from tests.lifecycle.test_scheduler import Clock
from tests.stacks import S3Server, Stack
from tests.support import ProductFactory, orders_csv

FILES = """
domain: shop
name: landed
version: 1.0.0
owner: team@example.com
trigger: {trigger}
inputPorts:
  - {{name: raw, source: {{format: csv, path: data}}, window: incremental}}
transformation: {{sql: transform.sql}}
outputPorts:
  - name: out
    properties:
      - {{name: order_id, logicalType: integer}}
"""

PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def _landed(make: ProductFactory, trigger: str) -> Path:
    folder = make("landed", FILES.format(trigger=trigger), {"transform.sql": "select order_id from raw"})
    (folder / "data").mkdir(exist_ok=True)
    return folder


def _did(attempts: list[Attempt]) -> list[str]:
    return [f"{a.trigger}:{a.status}" for a in attempts]


def _reason(workspace: Workspace, key: str) -> str:
    return str(workspace.runtime.state.runs(key, limit=1)[0].details["reason"])


def test_landed_files_trigger_a_run_once_each(workspace: Workspace, make_product: ProductFactory) -> None:
    folder = _landed(make_product, "{sources: all}")
    workspace.deploy([folder])
    scheduler = workspace.scheduler()
    try:
        assert scheduler.tick() == []  # nothing has landed yet
        (folder / "data" / "a.csv").write_text(orders_csv(1, 3))
        assert _did(scheduler.tick()) == ["sensor:succeeded"]
        first = _reason(workspace, "shop/landed")
        assert scheduler.tick() == []  # read: nothing new
        (folder / "data" / "b.csv").write_text(orders_csv(10, 2))
        (folder / "data" / ".c.csv.part").write_text(orders_csv(20, 2))  # still being written: not looked at
        assert _did(scheduler.tick()) == ["sensor:succeeded"]
        second = _reason(workspace, "shop/landed")
        assert scheduler.tick() == []
    finally:
        scheduler.stop()
    assert first == "1 new file(s) in data: a.csv"
    assert second == "1 new file(s) in data: b.csv"
    node = Node(workspace)  # the observability port says why each run started
    try:
        shown = observability_report(node, "shop", "landed", UNRESTRICTED)["runs"]
    finally:
        asyncio.run(node.stop())
    assert [(r["trigger"], r["reason"]) for r in shown] == [("sensor", second), ("sensor", first)]
    assert workspace.read("dp://shop/landed/out").num_rows == 5
    assert [r.trigger for r in workspace.runtime.state.runs("shop/landed")] == ["sensor", "sensor"]


def test_a_burst_is_one_run_after_the_debounce_and_runs_keep_their_minimum_interval(
    workspace: Workspace, make_product: ProductFactory
) -> None:
    folder = _landed(make_product, "{sources: [raw], debounce: 30s, minInterval: 5m}")
    workspace.deploy([folder])
    clock = Clock(datetime.now(UTC))
    scheduler = workspace.scheduler(clock=clock)
    try:
        (folder / "data" / "1.csv").write_text(orders_csv(1, 1))
        assert scheduler.tick() == []  # seen; waiting until the source is quiet for 30 s
        clock.now += timedelta(seconds=20)
        (folder / "data" / "2.csv").write_text(orders_csv(2, 1))  # more arrives: the quiet period restarts
        clock.now += timedelta(seconds=20)
        assert scheduler.tick() == []
        clock.now += timedelta(seconds=31)
        assert _did(scheduler.tick()) == ["sensor:succeeded"]  # one run for the burst
        burst = _reason(workspace, "shop/landed")
        (folder / "data" / "3.csv").write_text(orders_csv(3, 1))
        clock.now += timedelta(minutes=1)
        assert scheduler.tick() == []  # quiet long enough, but within the 5 m minimum interval
        clock.now += timedelta(minutes=5)
        assert _did(scheduler.tick()) == ["sensor:succeeded"]
    finally:
        scheduler.stop()
    assert burst == "2 new file(s) in data: 1.csv, 2.csv (quiet for 30s)"
    assert workspace.read("dp://shop/landed/out").num_rows == 3


INGEST = """
domain: shop
name: clicks
version: 1.0.0
owner: team@example.com
trigger: {sources: all}
inputPorts:
  - name: events
    source: {format: json, path: landing/events}
    window: incremental
outputPorts:
  - name: clicks
    properties:
      - {name: page, logicalType: string}
"""


def test_an_ingest_batch_triggers_a_run(workspace: Workspace, make_product: ProductFactory) -> None:
    folder = make_product("clicks", INGEST)
    (folder / "landing" / "events").mkdir(parents=True)
    workspace.deploy([folder])
    scheduler = workspace.scheduler()
    try:
        assert scheduler.tick() == []
        ingest_events(workspace.runtime, "shop/clicks", "events", [{"page": "/"}, {"page": "/about"}])
        assert _did(scheduler.tick()) == ["sensor:succeeded"]
        assert scheduler.tick() == []
    finally:
        scheduler.stop()
    assert "new file(s) in landing/events" in _reason(workspace, "shop/clicks")
    assert workspace.read("dp://shop/clicks/clicks").num_rows == 2


@pytest.mark.postgres
def test_on_shared_storage_an_ingest_batch_on_one_node_triggers_a_run_on_another(
    tmp_path: Path, s3_server: S3Server, shared_nats: str, make_product: ProductFactory
) -> None:
    stack = Stack("shared", s3_server, shared_nats)
    try:
        shared = stack.settings_values()
        for name in ("node-1", "node-2"):
            (tmp_path / name).mkdir()
            (tmp_path / name / "settings.yaml").write_text(yaml.safe_dump({**shared, "node_name": name}))
        folder = make_product("clicks", INGEST)  # no landing folder: on a cluster, files land in object storage
        with (
            Workspace(Settings.load(tmp_path / "node-1")) as one,
            Workspace(Settings.load(tmp_path / "node-2")) as two,
        ):
            one.deploy([folder])
            scheduler = two.scheduler()
            try:
                assert scheduler.tick() == []
                ingest_events(one.runtime, "shop/clicks", "events", [{"page": "/"}, {"page": "/about"}])
                assert _did(scheduler.tick()) == ["sensor:succeeded"]
                assert scheduler.tick() == []  # read once: no news any more
            finally:
                scheduler.stop()
            assert "new file(s) in landing/events: landing/shop/clicks/events/" in _reason(two, "shop/clicks")
            assert one.read("dp://shop/clicks/clicks").num_rows == 2
    finally:
        stack.close()


PG_SPEC = """
domain: shop
name: mirrored
version: 1.0.0
owner: team@example.com
trigger: {{sources: all}}
inputPorts:
  - name: orders
    source: {{postgres: "{url}", table: {table}, {how}}}
    window: incremental
transformation: {{sql: transform.sql}}
outputPorts:
  - name: orders
    properties:
      - {{name: id, logicalType: integer}}
"""


@pytest.fixture
def pg_table() -> Iterator[str]:
    table = f"sensor_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f"create table {table} (id bigint primary key)")
        conn.execute(f"insert into {table} values (1), (2)")
    try:
        yield table
    finally:
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f"drop table if exists {table}")
            for (slot,) in conn.execute(
                "select slot_name from pg_replication_slots where slot_name like %s", (f"%{table}%",)
            ).fetchall():
                conn.execute("select pg_drop_replication_slot(%s)", (slot,))
            conn.execute(f"drop publication if exists hexmesh_{table}")


@pytest.mark.parametrize("how", ["cursor: id", "mode: cdc, slot: hexmesh_{table}"])
def test_postgresql_rows_and_changes_trigger_runs(
    workspace: Workspace, make_product: ProductFactory, pg_table: str, how: str
) -> None:
    spec = PG_SPEC.format(url=PG, table=pg_table, how=how.format(table=pg_table))
    workspace.deploy([make_product("mirrored", spec, {"transform.sql": "select id from orders"})])
    scheduler = workspace.scheduler()
    try:
        first = scheduler.tick()
        assert _did(first) == ["sensor:succeeded"], first  # never read: the first run
        assert scheduler.tick() == []  # nothing new in the table
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f"insert into {pg_table} values (3)")
        assert _did(scheduler.tick()) == ["sensor:succeeded"]
        reason = _reason(workspace, "shop/mirrored")
        assert scheduler.tick() == []
    finally:
        scheduler.stop()
    assert ("id up to 3 (above 2)" if "cursor" in how else "committed changes up to WAL") in reason


@pytest.mark.parametrize(
    ("trigger", "words"),
    [
        ("{sources: [rwa]}", "sensor source 'rwa' is not an input port with a source"),
        ("{sources: all, debounce: soon}", "soon"),
    ],
)
def test_bad_sensors_are_refused(workspace: Workspace, make_product: ProductFactory, trigger: str, words: str) -> None:
    with pytest.raises(SpecError, match=words):
        workspace.deploy([_landed(make_product, trigger)])


def test_plan_says_what_a_sensor_trigger_does(workspace: Workspace, make_product: ProductFactory) -> None:
    folder = _landed(make_product, "manual")
    workspace.deploy([folder])
    spec = folder / "dataproduct.yaml"
    spec.write_text(
        spec.read_text()
        .replace("trigger: manual", "trigger: {sources: [raw], debounce: 30s, minInterval: 5m}")
        .replace("version: 1.0.0", "version: 1.0.1")
    )
    (plan,) = workspace.plan([folder])
    (change,) = [c for c in plan.changes if c.where == "trigger"]
    assert change.consequence == (
        "the scheduler runs it when the sources of raw bring something new (debounce 30s, at least 5m apart)"
        " and when an upstream publishes"
    )
