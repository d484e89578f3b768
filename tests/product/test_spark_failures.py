"""Spark failing under a run: a worker lost mid-job, an executor out of memory.

Each test starts its own small standalone cluster (tests/sparkcluster.py) and stops it, whatever
happens: these tests kill workers. A failed run must say what happened and what to do, publish
nothing (no snapshot, no file in the warehouse, no run folder left), and the next run succeeds.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from hexmesh.errors import TransformError
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
from tests.product.test_spark import on_spark
from tests.sparkcluster import Cluster, standalone_cluster
from tests.support import ORDERS_SPEC, ProductFactory, orders_csv

pytestmark = [pytest.mark.spark, pytest.mark.slow]

#: Every order, after a scalar subquery over 800³ rows (even: ``% 2`` is 0): seconds of work per
#: task, so a worker killed while a task of the job runs is killed mid-job.
SLOW_SQL = """
select o.order_id, o.customer, cast(o.ordered_at as timestamp) as ordered_at, o.amount
from raw o
where o.order_id > (
    select count(*) % 2 from raw a cross join raw b cross join raw c where a.amount + b.amount >= c.amount
)
"""
ORDERS = 800
#: One row holding a list of 50² strings of 100 kB (250 MB): more than a 512m executor holds, not a 2g one.
HUNGRY_SQL = """
select count(*) as order_id, 'all' as customer, max(cast(a.ordered_at as timestamp)) as ordered_at,
    cast(array_length(list(repeat(a.customer || b.customer, 25000))) as double) as amount
from raw a cross join raw b
"""
HUNGRY_ORDERS = 50


def settings(home: Path, cluster: Cluster, **more: object) -> Settings:
    return Settings.defaults(home).merged({"spark_master": cluster.master, **more})


def orders(make_product: ProductFactory, sql: str, count: int) -> Path:
    return make_product("orders", on_spark(ORDERS_SPEC), {"transform.sql": sql, "data/a.csv": orders_csv(1, count)})


def published_nothing(workspace: Workspace) -> None:
    """No snapshot, no data file in the warehouse, no run folder left behind."""
    assert workspace.reader("dp://sales/orders/orders").publications() == []
    warehouse = Path(workspace.settings.warehouse.removeprefix("file://"))
    assert sorted(warehouse.rglob("*.parquet")) == []
    runs = workspace.settings.compute_runs
    assert not runs.exists() or sorted(runs.iterdir()) == []


@contextmanager
def killing_a_busy_worker(cluster: Cluster) -> Iterator[list[int]]:
    """SIGKILLs the first worker whose executor logs that it runs a task (a worker lost mid-job); yields
    the list that then holds its number."""
    killed: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.2):
            for n in range(len(cluster.workers)):
                logs = (cluster.folder / f"work{n}").glob("app-*/*/stderr")
                if cluster.workers[n] not in cluster.killed and any(
                    "Running task" in log.read_text(errors="replace") for log in logs
                ):
                    cluster.kill_worker(n)
                    killed.append(n)
                    return

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield killed
    finally:
        done.set()
        thread.join()


def test_the_only_worker_lost_mid_job_fails_the_run_clearly_and_the_next_run_succeeds(
    tmp_path: Path, make_product: ProductFactory
) -> None:
    folder = orders(make_product, SLOW_SQL, ORDERS)
    with standalone_cluster(tmp_path / "cluster", workers=1) as cluster:
        # Long enough for the executor a returning worker starts to register, on a busy machine.
        ws = settings(tmp_path / "ws", cluster, spark_executor_memory="512m", spark_executor_wait=30)
        with Workspace(ws) as workspace:
            workspace.deploy([folder])
            with killing_a_busy_worker(cluster) as killed, pytest.raises(TransformError) as failed:
                workspace.run("sales/orders")
            assert killed == [0]
            message = str(failed.value)
            # Killed in the job reading the input's footers or in the query's: either is named.
            assert re.match(r"(transform\.sql|input port 'raw'): the Spark job had no executor for 30s", message)
            assert cluster.master in message and "start or check the workers" in message
            assert "Nothing was published" in message and "\tat " not in message  # no Java stack trace
            published_nothing(workspace)
            (run,) = workspace.runtime.state.runs("sales/orders")
            assert (run.status, run.error) == ("failed", message)

            cluster.start_worker()  # a worker is back
            cluster.wait_for_workers(1)
            cluster.wait_for_cores()  # the run's application has an executor on it
            assert workspace.run("sales/orders").rows == {"orders": ORDERS}  # the same version, run again


def test_one_of_two_workers_lost_mid_job_and_spark_finishes_on_the_other(
    tmp_path: Path, make_product: ProductFactory
) -> None:
    folder = orders(make_product, SLOW_SQL, ORDERS)
    with standalone_cluster(tmp_path / "cluster", workers=2) as cluster:
        ws = settings(tmp_path / "ws", cluster, spark_executor_memory="512m", spark_executor_wait=30)
        with Workspace(ws) as workspace:
            workspace.deploy([folder])
            with killing_a_busy_worker(cluster) as killed:
                result = workspace.run("sales/orders")
            assert len(killed) == 1  # a worker running a task of the job was lost
            assert result.rows == {"orders": ORDERS}
            table = workspace.read("dp://sales/orders/orders")
            assert sorted(table.column("order_id").to_pylist()) == list(range(1, ORDERS + 1))


def test_an_executor_out_of_memory_fails_the_run_clearly_and_more_memory_succeeds(
    tmp_path: Path, make_product: ProductFactory
) -> None:
    folder = orders(make_product, HUNGRY_SQL, HUNGRY_ORDERS)
    with standalone_cluster(tmp_path / "cluster", workers=1, memory="2g") as cluster:
        with Workspace(settings(tmp_path / "ws", cluster, spark_executor_memory="512m")) as workspace:
            workspace.deploy([folder])
            with pytest.raises(TransformError) as failed:
                workspace.run("sales/orders")
            message = str(failed.value)
            assert "transform.sql: a Spark executor ran out of memory (spark_executor_memory is 512m)" in message
            assert "raise spark_executor_memory" in message and "Nothing was published" in message
            assert "\tat " not in message
            published_nothing(workspace)
        # The next run, with enough memory, from a new workspace on the same home: a Spark
        # session's executor memory is fixed when the session starts.
        with Workspace(settings(tmp_path / "ws", cluster, spark_executor_memory="2g")) as workspace:
            result = workspace.run("sales/orders")
            assert result.rows == {"orders": 1}
            (row,) = workspace.read("dp://sales/orders/orders").to_pylist()
            assert (row["order_id"], row["amount"]) == (HUNGRY_ORDERS**2, float(HUNGRY_ORDERS**2))
