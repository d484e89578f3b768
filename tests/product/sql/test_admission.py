"""Many clients at once wait for the engine instead of running out of its memory (sql/admission.py, ADR 0039)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest

from hexmesh.lifecycle import Workspace
from hexmesh.pgwire import PgError
from hexmesh.product.sql import SqlPortConfig
from hexmesh.product.sql.admission import Admission
from tests.product.sql.conftest import Loop, Port, serve

#: An aggregate that needs the engine's memory for its hash table and its sort.
AGGREGATE = (
    "select a.customer, b.order_id, count(*), string_agg(a.customer || b.customer, ',' order by a.order_id) "
    "from sales.orders__orders a, sales.orders__orders b, sales.orders__orders c, sales.orders__orders d "
    "group by 1, 2 order by 3, 1, 2"
)


def _clients(port: Port, count: int) -> list[BaseException]:
    """``count`` clients, each running the aggregate once, all at once; what failed."""
    failures: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(count)

    def client() -> None:
        try:
            with psycopg.connect(port.dsn(), autocommit=True) as con:
                start.wait()
                assert len(con.execute(AGGREGATE).fetchall()) == 5 * 9  # customers c1-c5, 9 orders
        except BaseException as exc:  # collected and asserted below
            with lock:
                failures.append(exc)

    threads = [threading.Thread(target=client) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    return failures


@pytest.fixture
def tiny(mesh: Workspace, loop: Loop) -> Iterator[Port]:
    """A port whose engine has very little memory, running two statements at a time."""
    config = SqlPortConfig(max_connections=80, memory_limit="16MB", running_statements=2, statements_per_principal=0)
    port = serve(mesh, loop, config)
    yield port
    loop.run(port.server.close())


def test_64_clients_at_once_all_answer_on_a_tiny_engine(tiny: Port) -> None:
    assert _clients(tiny, 64) == []


def test_a_full_queue_refuses_with_a_clear_error() -> None:
    admission = Admission(slots=1, queue=0, timeout=None)
    admission.enter(lambda: False)
    with pytest.raises(PgError, match="the SQL port is busy: 1 statements are running and 0 are waiting") as busy:
        admission.enter(lambda: False)
    assert busy.value.sqlstate == "53000"
    admission.leave()
    admission.enter(lambda: False)  # the slot is free again: nothing was lost


def test_a_wait_past_the_timeout_fails_with_a_clear_error() -> None:
    admission = Admission(slots=1, queue=4, timeout=0.05)
    admission.enter(lambda: False)
    with pytest.raises(PgError, match="waited 0.05 s for one of the 1 statements the engine runs at once") as late:
        admission.enter(lambda: False)
    assert late.value.sqlstate == "53000"
    assert (admission.running, admission.waiting) == (1, 0)


def test_a_waiting_statement_stops_at_a_cancel() -> None:
    admission = Admission(slots=1, queue=4, timeout=None)
    admission.enter(lambda: False)
    with pytest.raises(PgError, match="canceling statement due to user request") as cancelled:
        admission.enter(lambda: True)
    assert cancelled.value.sqlstate == "57014"
    assert (admission.running, admission.waiting) == (1, 0)


def test_statements_take_their_turns_first_come_first_served() -> None:
    admission = Admission(slots=1, queue=8, timeout=None)
    admission.enter(lambda: False)
    order: list[int] = []
    queued = threading.Semaphore(0)

    def waiter(n: int) -> None:
        queued.release()
        admission.enter(lambda: False)
        order.append(n)
        admission.leave()

    threads = []
    for n in range(3):
        thread = threading.Thread(target=waiter, args=(n,))
        thread.start()
        queued.acquire()
        while admission.waiting < n + 1:  # in the queue before the next one comes
            threading.Event().wait(0.005)
        threads.append(thread)
    admission.leave()
    for thread in threads:
        thread.join(10)
    assert order == [0, 1, 2]


def test_the_per_statement_limits_still_apply_while_statements_queue(tiny: Port) -> None:
    with psycopg.connect(tiny.dsn(), autocommit=True) as con:
        with pytest.raises(psycopg.errors.ProgramLimitExceeded, match="statement is too long"):
            con.execute("select 1 where 1 in (" + ",".join(["1"] * 600_000) + ")")
        assert con.execute("select count(*) from sales.orders__orders").fetchone() == (9,)
