"""Hostile and bad inputs: clear errors, and the server keeps serving afterwards."""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Iterator

import psycopg
import pytest

from hexmesh.lifecycle import Workspace
from hexmesh.product.sql import SqlPortConfig
from tests.product.sql.conftest import Loop, Port, serve


def still_serves(sql: Port) -> None:
    with psycopg.connect(sql.dsn(), autocommit=True) as con:
        assert con.execute("select count(*) from sales.orders__orders").fetchone() == (9,)


@pytest.mark.parametrize(
    ("statement", "error", "message"),
    [
        ("insert into sales.orders__orders values (1, 'x', now(), 1)", psycopg.errors.ReadOnlySqlTransaction, "INSERT"),
        ("delete from sales.orders__orders", psycopg.errors.ReadOnlySqlTransaction, "DELETE"),
        ("create table t (a int)", psycopg.errors.ReadOnlySqlTransaction, "CREATE"),
        ("drop table sales.orders__orders", psycopg.errors.ReadOnlySqlTransaction, "DROP"),
        (
            "with x as (delete from sales.orders__orders returning *) select * from x",
            psycopg.errors.ReadOnlySqlTransaction,
            "DELETE",
        ),
        ("select * from read_csv('/etc/passwd')", psycopg.errors.UndefinedFunction, "read_csv"),
        ("select * from read_parquet('/tmp/x.parquet')", psycopg.errors.UndefinedFunction, "read_parquet"),
        # A table function in a scalar position; one whose name is also an aggregate's, in FROM.
        ("select read_csv('/etc/passwd')", psycopg.errors.UndefinedFunction, "read_csv"),
        ("select * from histogram('sales.orders__orders', customer)", psycopg.errors.UndefinedFunction, "histogram"),
        ("select * from repeat('x', 3)", psycopg.errors.UndefinedFunction, "repeat"),
        ("select * from '/tmp/x.parquet'", psycopg.errors.UndefinedTable, "x.parquet"),
        ('select * from "/tmp/x.parquet"', psycopg.errors.UndefinedTable, "x.parquet"),
        ("attach '/tmp/x.db' as x", psycopg.errors.InsufficientPrivilege, "ATTACH"),
        ("install httpfs", psycopg.errors.InsufficientPrivilege, "INSTALL"),
        ("load httpfs", psycopg.errors.InsufficientPrivilege, "LOAD"),
        ("set threads = 1", psycopg.errors.UndefinedObject, "threads"),
        ("set enable_external_access = true", psycopg.errors.UndefinedObject, "enable_external_access"),
        ("select * from nowhere.nothing", psycopg.errors.UndefinedTable, "nothing"),
    ],
)
def test_writes_files_extensions_and_settings_are_refused(
    sql: Port, statement: str, error: type[Exception], message: str
) -> None:
    with psycopg.connect(sql.dsn(), autocommit=True) as con, pytest.raises(error, match=message):
        con.execute(statement)
    still_serves(sql)


def test_copy_to_a_server_file_is_refused(sql: Port) -> None:
    with psycopg.connect(sql.dsn(), autocommit=True) as con, pytest.raises(psycopg.Error):
        con.execute("copy sales.orders__orders to '/tmp/hexmesh-leak.csv'")
    still_serves(sql)


def test_client_settings_are_accepted_like_postgresql(sql: Port) -> None:
    with psycopg.connect(sql.dsn(), autocommit=True) as con:
        # What psqlODBC sends on connect, as one simple-protocol message.
        con.execute("SET DateStyle = 'ISO';SET extra_float_digits = 2;show transaction_isolation", prepare=False)
        con.execute("SET application_name = 'tableau'")
        assert con.execute("show application_name").fetchone() == ("tableau",)
        assert con.execute("SHOW transaction_isolation").fetchone() == ("read committed",)


@pytest.fixture
def tight(mesh: Workspace, loop: Loop) -> Iterator[Port]:
    config = SqlPortConfig(
        max_connections=2, max_result_rows=1000, statement_timeout=0.5, memory_limit="64MB", idle_session_timeout=1.0
    )
    port = serve(mesh, loop, config)
    yield port
    loop.run(port.server.close())


def test_row_cap_statement_timeout_and_max_connections(tight: Port) -> None:
    with psycopg.connect(tight.dsn(), autocommit=True) as con:
        with pytest.raises(psycopg.errors.ProgramLimitExceeded, match="cap of 1000 rows"):
            con.execute("select * from range(100000)").fetchall()
        with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
            con.execute("select count(*) from range(1000000000000) a")
        assert con.execute("select count(*) from sales.orders__orders").fetchone() == (9,)
        with psycopg.connect(tight.dsn()), pytest.raises(psycopg.OperationalError, match="too many"):
            psycopg.connect(tight.dsn())
    still_serves(tight)


def test_a_timed_out_statement_never_cancels_the_next_one(tight: Port) -> None:
    # The server repeats its cancel while a statement runs; a repeat still queued when the
    # statement ends must not land on the session's next statement.
    with psycopg.connect(tight.dsn(), autocommit=True) as con:
        for _ in range(5):
            with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
                con.execute("select count(*) from range(1000000000000) a")
            assert con.execute("select count(*) from sales.orders__orders").fetchone() == (9,)
            assert con.execute("select 1").fetchone() == (1,)


@pytest.fixture
def small_memory(mesh: Workspace, loop: Loop) -> Iterator[Port]:
    # A statement timeout far beyond what the query needs: the memory cap, not the clock, must stop it,
    # however loaded the machine is.
    config = SqlPortConfig(statement_timeout=600.0, memory_limit="64MB")
    port = serve(mesh, loop, config)
    yield port
    loop.run(port.server.close())


def test_memory_cap_refuses_the_statement_and_keeps_the_session(small_memory: Port) -> None:
    with psycopg.connect(small_memory.dsn(), autocommit=True) as con:
        with pytest.raises(psycopg.errors.OutOfMemory, match="more memory than one SQL session") as caught:
            con.execute("select len(list(range)) from range(30000000)")
        # DuckDB's own advice names settings the port refuses (SET threads, SET memory_limit).
        told = f"{caught.value.diag.message_primary} {caught.value.diag.message_hint}"
        assert "SET " not in told and "Error:" not in told, told
        assert con.execute("select count(*) from sales.orders__orders").fetchone() == (9,)
    still_serves(small_memory)


def test_idle_sessions_are_closed(tight: Port) -> None:
    con = psycopg.connect(tight.dsn(), autocommit=True)
    try:
        # Wait for the server to speak (its FATAL, then EOF) without sending anything, which would
        # reset the idle clock: as long as it takes (~1 s), at most a minute on a loaded machine.
        readable, _, _ = select.select([con.fileno()], [], [], 60.0)
        assert readable, "the server kept an idle session open for a minute (idle_session_timeout is 1 s)"
        with pytest.raises(psycopg.OperationalError):
            con.execute("select 1")
    finally:
        con.close()
    still_serves(tight)


def test_malformed_protocol_messages_do_not_hurt_other_clients(sql: Port) -> None:
    with psycopg.connect(sql.dsn(), autocommit=True) as bystander:
        for garbage in (b"\x00\x00\x00\x08\x04\xd2\x16\x2e", b"GET / HTTP/1.1\r\n\r\n", b"\xff" * 64):
            with socket.create_connection(("127.0.0.1", sql.port), timeout=10) as raw:
                raw.sendall(garbage)
                raw.shutdown(socket.SHUT_WR)
                raw.recv(1024)
        assert bystander.execute("select count(*) from sales.orders__orders").fetchone() == (9,)


def test_a_session_can_lower_its_statement_timeout(sql: Port) -> None:
    with psycopg.connect(sql.dsn(), autocommit=True) as con:
        con.execute("set statement_timeout = '200ms'")
        with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
            con.execute("select count(*) from range(1000000000000) a")
        con.execute("reset statement_timeout")
        assert con.execute("select 1").fetchone() == (1,)


def test_a_cancelled_query_leaves_the_session_usable(sql: Port) -> None:
    with psycopg.connect(sql.dsn(), autocommit=True) as con:
        # cancel_safe: libpq's blocking PQcancel holds the GIL, and this server is in-process.
        timer = threading.Timer(0.3, con.cancel_safe)
        timer.start()
        with pytest.raises(psycopg.errors.QueryCanceled):
            con.execute("select count(*) from range(1000000000000) a")
        timer.join()
        assert con.execute("select 1").fetchone() == (1,)
