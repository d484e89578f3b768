"""A statement's rows kept for a slow client: in memory within budgets, then on disk, in order (sql/spool.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import duckdb
import pyarrow as pa
import pytest

from hexmesh.pgwire import PgError
from hexmesh.product.sql.budget import Budget
from hexmesh.product.sql.results import StatementRows
from hexmesh.product.sql.spool import Spool

#: 20,000 rows in batches of 1,000, with a dictionary (enum) column that must survive the spill.
QUERY = (
    "select i, 'row ' || i as label, (['red', 'green'])[1 + i % 2]::enum('red', 'green') as colour "
    "from range(20000) t(i) order by i"
)


class Ended:
    """Counts how often a statement's end ran (it must run exactly once)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def _spool(memory: Budget, disk: Budget, cap: int | None = None) -> tuple[Spool, Ended, Callable[[], None]]:
    con = duckdb.connect()
    reader = con.sql(QUERY).to_arrow_reader(1000)
    ended = Ended()
    rows = StatementRows(reader, cap, ended)
    return Spool(rows, con.interrupt, memory, disk, 1000), ended, con.close


def _wait_until(condition: Callable[[], bool]) -> None:
    for _ in range(400):
        if condition():
            return
        threading.Event().wait(0.05)
    raise AssertionError("never happened")


def test_a_budget_takes_only_what_it_and_its_parent_have_left() -> None:
    port = Budget(100)
    one, two = Budget(80, port), Budget(80, port)
    assert one.take(80) and not one.take(1)
    assert not two.take(30) and two.take(20)  # the port has 20 left
    one.give(80)
    assert two.take(60) and (port.taken, one.taken, two.taken) == (80, 0, 80)


def test_rows_past_the_memory_budget_go_to_disk_and_come_back_in_order() -> None:
    memory, disk = Budget(64 * 1024, Budget(10**9)), Budget(10**9, Budget(10**9))
    spool, ended, close = _spool(memory, disk)
    try:
        spool.start()
        _wait_until(lambda: not spool.working)  # the engine is done before the client reads anything
        assert ended.count == 1  # its turn went back then
        assert memory.taken <= 64 * 1024 and disk.taken > 0
        table = pa.Table.from_batches(list(spool))
        relation = duckdb.connect().sql(QUERY)
        assert relation is not None
        expected = relation.to_arrow_table()
        assert table.equals(expected)
        assert pa.types.is_dictionary(table.schema.field("colour").type)
        assert (memory.taken, disk.taken, memory.parent.taken if memory.parent else 0) == (0, 0, 0)
    finally:
        close()


def test_an_error_reaches_the_client_after_the_rows_produced_before_it() -> None:
    spool, ended, close = _spool(Budget(10**9), Budget(10**9), cap=5000)
    try:
        spool.start()
        seen = 0
        with pytest.raises(PgError, match="result exceeds the SQL port's cap of 5000 rows"):
            for batch in spool:
                seen += batch.num_rows
        assert seen == 5000 and ended.count == 1
    finally:
        close()


def test_closing_before_the_end_gives_everything_back_and_ends_the_statement_once() -> None:
    memory, disk = Budget(32 * 1024), Budget(10**9)
    spool, ended, close = _spool(memory, disk)
    try:
        spool.start()
        next(spool)
        spool.close()
        _wait_until(lambda: ended.count == 1)
        spool.close()
        assert (memory.taken, disk.taken, ended.count) == (0, 0, 1)
        assert list(spool) == []
    finally:
        close()


def test_with_no_budget_the_engine_waits_for_the_client_and_nothing_is_lost() -> None:
    memory, disk = Budget(0), Budget(0)
    spool, ended, close = _spool(memory, disk)
    try:
        spool.start()
        assert spool.working and ended.count == 0  # it keeps its turn: it is one batch ahead at most
        assert sum(batch.num_rows for batch in spool) == 20000
        assert ended.count == 1
    finally:
        close()
