"""No client can exhaust the SQL port (issue 18): statement size, parse time, cache, turns, hostile shapes."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest

from hexmesh.lifecycle import Workspace
from hexmesh.product.sql import SqlPortConfig
from hexmesh.product.sql.statements import StatementCache, statement_size
from tests.product.sql import test_slow_clients as slow
from tests.product.sql.conftest import Loop, Port, serve


def _in_list(count: int) -> str:
    return "select count(*) from sales.orders__orders where order_id in (" + ",".join(map(str, range(count))) + ")"


@pytest.fixture
def limited(mesh: Workspace, loop: Loop) -> Iterator[Port]:
    config = SqlPortConfig(max_statement_bytes=2000, statements_per_principal=1, statement_timeout=30.0)
    port = serve(mesh, loop, config)
    yield port
    loop.run(port.server.close())


def test_a_statement_over_the_size_limit_is_54000_and_the_session_goes_on(limited: Port) -> None:
    with psycopg.connect(limited.dsn(), autocommit=True) as con:
        with pytest.raises(psycopg.errors.ProgramLimitExceeded, match="statement is too long") as caught:
            con.execute(_in_list(1000))
        assert "sql_max_statement_bytes" in str(caught.value.diag.message_hint)
        assert con.execute(_in_list(10)).fetchone() == (5,)


def test_parsing_runs_inside_the_statement_timeout(mesh: Workspace, loop: Loop) -> None:
    # A long IN list takes sqlglot seconds to parse; the timeout stops the parse itself (the
    # statement is then never parsed to the end, so it is not in the statement cache).
    port = serve(mesh, loop, SqlPortConfig(statement_timeout=0.3))
    try:
        cache = port.server.backend_factory.statements  # type: ignore[attr-defined]
        with psycopg.connect(port.dsn(), autocommit=True) as con:
            before = cache.nbytes
            with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
                con.execute(_in_list(60_000), prepare=False)
            assert cache.nbytes == before
            assert con.execute("select 1").fetchone() == (1,)
    finally:
        loop.run(port.server.close())


def test_one_principal_runs_its_statements_in_turn(limited: Port) -> None:
    # statements_per_principal=1: while one session of "analyst" runs a long query, another
    # session of the same principal waits for its turn (here until its own timeout).
    with (
        psycopg.connect(limited.dsn(), autocommit=True) as busy,
        psycopg.connect(limited.dsn(), autocommit=True) as waiting,
        psycopg.connect(limited.dsn("someone-else"), autocommit=True) as other,
    ):

        def long_query() -> None:
            with pytest.raises(psycopg.errors.QueryCanceled):
                busy.execute("select count(*) from range(10000000000000)")

        running = threading.Thread(target=long_query)
        running.start()
        turns = limited.server.backend_factory.running  # type: ignore[attr-defined]
        for _ in range(600):  # until the long query has its turn (not a timing assertion)
            if turns.running("analyst"):
                break
            threading.Event().wait(0.05)
        try:
            waiting.execute("set statement_timeout = '1s'")
            with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
                waiting.execute("select 1")
            assert other.execute("select 2").fetchone() == (2,)  # another principal is not held up
        finally:
            busy.cancel_safe()
            running.join(30)
        assert waiting.execute("select 3").fetchone() == (3,)


def test_the_statement_cache_is_bounded_in_bytes_overall_and_per_session() -> None:
    cache = StatementCache(max_bytes=statement_size("x" * 1000) * 10, session_bytes=statement_size("x" * 1000) * 3)

    def lookup(schema: str | None, name: str) -> None:
        return None

    for i in range(20):
        cache.get(f"select {i}, '{'x' * 980}'", "ctx", lookup, owner="greedy")
    assert cache.owned("greedy") <= cache.session_bytes
    for i in range(20):
        cache.get(f"select {i} as y, '{'x' * 975}'", "ctx", lookup, owner=f"s{i}")
    assert cache.nbytes <= cache.max_bytes
    cache.get("select 1 as shared", "ctx", lookup, owner="a")
    cache.get("select 1 as shared", "ctx", lookup, owner="b")  # used by two sessions: shared
    before = cache.nbytes
    cache.forget("a")
    assert cache.nbytes == before  # a shared statement stays
    cache.forget("s19")
    assert cache.nbytes < before and cache.owned("s19") == 0
    huge = "select '" + "x" * cache.session_bytes + "'"
    cache.get(huge, "ctx", lookup, owner="c")
    assert cache.owned("c") == 0  # larger than a session's share: parsed, never kept


def test_what_a_session_cached_goes_when_it_disconnects(sql: Port) -> None:
    cache = sql.server.backend_factory.statements  # type: ignore[attr-defined]
    with psycopg.connect(sql.dsn(), autocommit=True) as con:
        before = cache.nbytes
        for i in range(30):
            con.execute(f"select {i} as distinct_{i} from sales.orders__orders limit 1", prepare=False)
        assert cache.nbytes > before
    for _ in range(100):
        if cache.nbytes <= before:
            break
        threading.Event().wait(0.05)  # the session closes in the server's thread
    assert cache.nbytes <= before


HOSTILE = [
    ("select " + "(" * 500 + "1" + ")" * 500, "54001", "too complex"),
    ("select * from sales.orders__orders for system_time as of (select null)", "0A000", "not a query"),
    ("select * from sales.orders__orders for system_time as of null", "22004", "as_of is null"),
    ("select * from hexmesh.as_of('sales.orders__orders', (select now()))", "0A000", "not a query"),
    ("set hexmesh.epsilon = 'nan'", "22023", "hexmesh.epsilon"),
    ("set hexmesh.epsilon = '-1'", "22023", "hexmesh.epsilon"),
    ("describe sales.orders__orders", "42601", 'syntax error at or near "describe"'),
    ("summarize sales.orders__orders", "42601", 'syntax error at or near "summarize"'),
    ("select 'unterminated", "42601", "unterminated quoted string"),
    ("select * form sales.orders__orders", "42601", "syntax error at or near"),
]


@pytest.mark.parametrize(("statement", "sqlstate", "message"), HOSTILE)
def test_hostile_statements_get_a_postgresql_error_never_xx000(
    sql: Port, statement: str, sqlstate: str, message: str
) -> None:
    with psycopg.connect(sql.dsn(), autocommit=True) as con:
        with pytest.raises(psycopg.Error) as caught:
            con.execute(statement)
        assert caught.value.sqlstate == sqlstate, caught.value
        assert message in str(caught.value)
        for engine in ("Error:", "sqlglot", "<class", "Traceback", "TokenError"):
            assert engine not in str(caught.value)
        assert con.execute("select 1").fetchone() == (1,)


def test_clients_that_stop_reading_their_results_do_not_exhaust_the_engine(mesh: Workspace, loop: Loop) -> None:
    # As many hostile clients as the engine has turns, each stalled on a big result (test_slow_clients.py).
    port = serve(mesh, loop, SqlPortConfig(running_statements=2, admission_timeout=20.0, batch_rows=500))
    stalled = [slow.stalled(port, n) for n in range(2)]
    try:
        with psycopg.connect(port.dsn(), autocommit=True) as con:
            assert con.execute("select 1").fetchone() == (1,)  # before ADR 0045: 53000 after 20 s
    finally:
        for raw in stalled:
            slow.kill(raw)
        loop.run(port.server.close())
