"""The scheduler: changes flow down the mesh once per commit; failures stay contained."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hexmesh.errors import SpecError
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Attempt, Workspace
from hexmesh.spec import parse_spec
from tests.support import ProductFactory, orders_csv

NODE = """
domain: chain
name: {name}
version: {version}
owner: team@example.com
trigger: {trigger}
inputPorts:
{inputs}
transformation: {{sql: transform.sql}}
outputPorts:
  - name: out
    properties:
      - {{name: order_id, logicalType: integer}}
{quality}"""


def node(
    make: ProductFactory,
    name: str,
    ups: list[str],
    *,
    trigger: str = "upstream",
    version: str = "1.0.0",
    quality: str = "",
) -> Path:
    inputs = "\n".join(f"  - {{name: in{i}, from: 'dp://{u}/out', window: incremental}}" for i, u in enumerate(ups))
    sql = " union all ".join(f"select order_id from in{i}" for i in range(len(ups)))
    spec = NODE.format(name=name, version=version, trigger=trigger, inputs=inputs, quality=quality)
    return make(name, spec, {"transform.sql": sql})


SOURCE = """
domain: chain
name: source
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


def source(make: ProductFactory, trigger: str = "manual") -> Path:
    return make(
        "source",
        SOURCE.format(trigger=trigger),
        {"transform.sql": "select order_id from raw", "data/1.csv": orders_csv(1, 3)},
    )


def runs(workspace: Workspace, key: str) -> list[str]:
    return [r.status for r in reversed(workspace.runtime.state.runs(key, limit=100))]


def done(attempts: list[Attempt]) -> list[str]:
    return [f"{a.product.split('/')[1]}:{a.status}" for a in attempts]


def test_a_commit_flows_down_a_chain_and_a_diamond_once(workspace: Workspace, make_product: ProductFactory) -> None:
    folders = [
        source(make_product),
        node(make_product, "a", ["chain/source"]),
        node(make_product, "b", ["chain/a"]),
        node(make_product, "left", ["chain/source"]),
        node(make_product, "right", ["chain/source"]),
        node(make_product, "joined", ["chain/left", "chain/right"]),
    ]
    workspace.deploy(folders)
    scheduler = workspace.scheduler()
    try:
        assert scheduler.tick() == []  # nothing published yet
        workspace.run("chain/source")
        attempts = done(scheduler.tick())
        assert sorted(attempts) == sorted(
            ["a:succeeded", "b:succeeded", "left:succeeded", "right:succeeded", "joined:succeeded"]
        )
        assert attempts.index("a:succeeded") < attempts.index("b:succeeded")
        assert attempts.index("joined:succeeded") > max(
            attempts.index("left:succeeded"), attempts.index("right:succeeded")
        )
        assert scheduler.tick() == []  # once per upstream commit
        (folders[0] / "data" / "2.csv").write_text(orders_csv(10, 2))
        workspace.run("chain/source")
        assert len(scheduler.tick()) == 5
        assert runs(workspace, "chain/joined") == ["succeeded", "succeeded"]
        assert workspace.read("dp://chain/joined/out").num_rows == 10
    finally:
        scheduler.stop()


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def test_a_failing_product_is_retried_with_backoff_and_its_dependents_keep_serving(
    workspace: Workspace, make_product: ProductFactory
) -> None:
    folders = [source(make_product), node(make_product, "a", ["chain/source"]), node(make_product, "b", ["chain/a"])]
    workspace.deploy(folders)
    clock = Clock(datetime.now(UTC))
    scheduler = workspace.scheduler(clock=clock, backoff=60, max_attempts=3)
    try:
        workspace.run("chain/source")
        assert done(scheduler.tick()) == ["a:succeeded", "b:succeeded"]
        failing = node(
            make_product, "a", ["chain/source"], version="1.0.1", quality="    quality:\n      - rowCount: {max: 0}\n"
        )
        workspace.deploy([failing])
        (folders[0] / "data" / "2.csv").write_text(orders_csv(10, 2))
        workspace.run("chain/source")
        assert done(scheduler.tick()) == ["a:failed"]  # b is not run: a published nothing
        assert scheduler.tick() == []  # waiting for the backoff
        clock.now += timedelta(seconds=61)
        assert done(scheduler.tick()) == ["a:failed"]
        clock.now += timedelta(seconds=61)
        assert scheduler.tick() == []  # the second retry waits twice as long
        clock.now += timedelta(seconds=60)
        assert done(scheduler.tick()) == ["a:failed"]
        clock.now += timedelta(days=1)
        assert scheduler.tick() == []  # gave up until an upstream publishes again
        assert workspace.read("dp://chain/b/out").num_rows == 3  # last good snapshot
        assert runs(workspace, "chain/b") == ["succeeded"]
    finally:
        scheduler.stop()


def test_cron_and_manual_triggers(workspace: Workspace, make_product: ProductFactory) -> None:
    folders = [
        source(make_product, trigger='{cron: "0 * * * *"}'),
        node(make_product, "a", ["chain/source"], trigger="manual"),
    ]
    workspace.deploy(folders)
    real = datetime.now(UTC)
    clock = Clock(real - timedelta(hours=2))
    scheduler = workspace.scheduler(clock=clock)
    try:
        clock.now = real
        assert done(scheduler.tick()) == ["source:succeeded"]  # a is manual: never scheduled
        clock.now = real + timedelta(seconds=1)
        assert scheduler.tick() == []
        next_hour = (real + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
        clock.now = next_hour + timedelta(seconds=1)
        assert done(scheduler.tick()) == ["source:skipped"]  # fired; no new files
        assert [r.trigger for r in workspace.runtime.state.runs("chain/source")] == ["cron", "cron"]
        assert runs(workspace, "chain/a") == []
    finally:
        scheduler.stop()


def test_an_invalid_cron_expression_is_located() -> None:
    text = SOURCE.format(trigger='{cron: "0 25 * * *"}')
    with pytest.raises(SpecError, match=r"spec.yaml:5:17: trigger.cron: cron expression '0 25 \* \* \*' is not valid"):
        parse_spec(text.lstrip(), "spec.yaml")


def test_two_schedulers_on_one_product_run_it_at_most_once(
    workspace: Workspace, make_product: ProductFactory, tmp_path: Path
) -> None:
    workspace.deploy([source(make_product), node(make_product, "a", ["chain/source"])])
    workspace.run("chain/source")
    other = Workspace(Settings.defaults(tmp_path / "ws"))
    schedulers = [workspace.scheduler(), other.scheduler()]
    barrier = threading.Barrier(2)
    results: list[list[Attempt]] = []

    def tick(index: int) -> None:
        barrier.wait()
        results.append(schedulers[index].tick())

    threads = [threading.Thread(target=tick, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for scheduler in schedulers:
        scheduler.stop()
    other.close()
    assert runs(workspace, "chain/a") == ["succeeded"]
    statuses = sorted(a.status for r in results for a in r)
    assert statuses in (["succeeded"], ["busy", "succeeded"])


def test_a_product_another_node_is_running_counts_as_busy_not_failed(
    workspace: Workspace, make_product: ProductFactory
) -> None:
    workspace.deploy([source(make_product), node(make_product, "a", ["chain/source"])])
    workspace.run("chain/source")
    state = workspace.runtime.state
    assert state.acquire_lock("run:chain/a@1", "other-node", 10**9) is None
    scheduler = workspace.scheduler()
    try:
        assert done(scheduler.tick()) == ["a:busy"]
        state.release_lock("run:chain/a@1", "other-node")
        assert done(scheduler.tick()) == ["a:succeeded"]  # no backoff: busy is not a failure
    finally:
        scheduler.stop()


def wait_for(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the scheduler did not react"
        time.sleep(0.05)


def test_the_scheduler_thread_reacts_to_a_local_publication(workspace: Workspace, make_product: ProductFactory) -> None:
    workspace.deploy([source(make_product), node(make_product, "a", ["chain/source"])])
    seen: list[Attempt] = []
    scheduler = workspace.scheduler(poll_interval=3600, on_attempt=seen.append)
    scheduler.start()
    try:
        assert scheduler.running
        workspace.run("chain/source")  # the observer wakes the scheduler at once
        wait_for(lambda: bool(seen))
        assert done(seen) == ["a:succeeded"]
    finally:
        scheduler.stop()
    assert not scheduler.running


def test_a_retired_upstream_triggers_nothing(workspace: Workspace, make_product: ProductFactory) -> None:
    folders = [source(make_product), node(make_product, "a", ["chain/source"])]
    workspace.deploy(folders)
    workspace.run("chain/source")
    (folders[0] / "data" / "2.csv").write_text(orders_csv(10, 2))
    workspace.run("chain/source")
    workspace.retire("chain/source@1", force=True)
    scheduler = workspace.scheduler()
    try:
        assert scheduler.tick() == []
    finally:
        scheduler.stop()


def test_each_node_runs_only_the_products_its_placement_names(
    workspace: Workspace, make_product: ProductFactory
) -> None:
    workspace.deploy([source(make_product), node(make_product, "a", ["chain/source"])])
    (workspace.settings.home / "settings.yaml").write_text("placement: [chain/a]\nnode_name: node-b\n")
    workspace.run("chain/source")
    elsewhere = Workspace(Settings.load(workspace.settings.home).merged({"placement": ["billing"]}))
    here = Workspace(Settings.load(workspace.settings.home))
    schedulers = [elsewhere.scheduler(), here.scheduler()]
    try:
        assert done(schedulers[0].tick()) == []  # a node of another domain leaves chain/a alone
        assert done(schedulers[1].tick()) == ["a:succeeded"]
    finally:
        for scheduler in schedulers:
            scheduler.stop()
        elsewhere.close()
        here.close()
    (run,) = workspace.runtime.state.runs("chain/a")
    assert run.host == "node-b"  # runs say which node ran them
