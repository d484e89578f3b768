"""Clients that read slowly, or stop reading, hold no turn of the engine (sql/spool.py, ADR 0045).

Real sockets speak the protocol (tests/pgwire/rawclient.py): they send a statement with a big
result, read its first bytes (so the statement surely ran) and then read nothing more.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg.pq.abc import PGconn, PGresult

from hexmesh.lifecycle import Workspace
from hexmesh.product.sql import SqlPortConfig
from hexmesh.product.sql.port import SqlPort
from tests.pgwire.rawclient import Raw, sqlstate
from tests.product.sql.conftest import Loop, Port, serve

ORDERS = "sales.orders__orders"
#: 9⁴ = 6,561 rows of about 2 KB, 13 MB in all: more than the socket buffers hold, so a client that
#: does not read leaves most of it with the server.
BIG = (
    "select {client} as client, a.order_id as a, b.order_id as b, c.order_id as c, d.order_id as d, "
    "rpad(a.customer, 2000, '.') as pad "
    f"from {ORDERS} a, {ORDERS} b, {ORDERS} c, {ORDERS} d order by 2, 3, 4, 5"
)
ROWS = 9**4
MiB = 1024 * 1024


def _config(**changes: object) -> SqlPortConfig:
    base: dict[str, object] = {
        "running_statements": 4,
        "statements_per_principal": 0,
        "admission_timeout": 20.0,  # a starved statement fails with 53000 instead of hanging the test
        "batch_rows": 500,  # many batches: some kept in memory, the rest spilled
        "result_memory": 4 * MiB,
        "result_memory_total": 8 * MiB,
    }
    return SqlPortConfig(**{**base, **changes})  # type: ignore[arg-type]


@pytest.fixture
def slow(mesh: Workspace, loop: Loop) -> Iterator[Port]:
    port = serve(mesh, loop, _config())
    yield port
    loop.run(port.server.close())


def _engine(port: Port) -> SqlPort:
    backend = port.server.backend_factory
    assert isinstance(backend, SqlPort)
    return backend


def _eventually(condition: Callable[[], bool], what: str, tries: int = 600) -> None:
    """Wait for ``condition`` (a bounded number of looks; no assertion on how long it took)."""
    for _ in range(tries):
        if condition():
            return
        threading.Event().wait(0.05)
    raise AssertionError(f"never happened: {what}")


def stalled(port: Port, client: int) -> Raw:
    """A client that sent BIG, read its first message (the statement ran) and reads nothing more."""
    raw = Raw(port.port)
    raw.startup("analyst")
    raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    raw.message(b"Q", BIG.format(client=client).encode() + b"\0")
    kind, payload = raw.read_message()
    assert kind == b"T", payload  # RowDescription: the statement was admitted and runs
    return raw


def _rows(raw: Raw) -> list[tuple[str, ...]]:
    """The rest of the answer to a simple Query: its DataRows as text tuples, up to ReadyForQuery."""
    rows: list[tuple[str, ...]] = []
    while True:
        kind, payload = raw.read_message()
        assert kind, "the server closed the connection"
        if kind == b"E":
            raise AssertionError(f"error {sqlstate(payload)}: {payload!r}")
        if kind == b"Z":
            return rows
        if kind == b"D":
            rows.append(_data_row(payload))


def _data_row(payload: bytes) -> tuple[str, ...]:
    (count,) = struct.unpack("!h", payload[:2])
    at, values = 2, []
    for _ in range(count):
        (length,) = struct.unpack("!i", payload[at : at + 4])
        values.append(payload[at + 4 : at + 4 + length].decode())
        at += 4 + length
    return tuple(values)


def _result(pgconn: PGconn) -> PGresult | None:
    """libpq's next result, read without blocking: the server runs in this process and needs the GIL."""
    while True:
        pgconn.consume_input()
        if not pgconn.is_busy():
            return pgconn.get_result()
        select.select([pgconn.socket], [], [], 1.0)


def kill(raw: Raw) -> None:
    """Close as a killed process does: at once, with a reset, whatever the server was sending."""
    raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    raw.close()


def test_four_clients_that_stop_reading_do_not_block_a_fifth_clients_select_1(slow: Port) -> None:
    engine = _engine(slow)
    readers = [stalled(slow, n) for n in range(4)]
    try:
        # Their engines finished and gave their turns back; what they did not read waits for them.
        _eventually(lambda: engine.admission.running == 0, "the four statements gave their turns back")
        assert engine.result_spill.taken > 0
        # The port's budget, and past it at most the batch each client reads next (500 rows of about 2 KB).
        assert engine.result_memory.taken <= 8 * MiB + 4 * 500 * 2100
        with psycopg.connect(slow.dsn(), autocommit=True) as con:
            assert con.execute("select 1").fetchone() == (1,)
            assert con.execute(f"select count(*) from {ORDERS}").fetchone() == (9,)
    finally:
        for raw in readers:
            kill(raw)


def test_libpq_clients_that_send_a_query_and_read_later_leave_the_engine_free(slow: Port) -> None:
    # libpq reads a socket only when asked: four psycopg connections send a query and do not ask yet.
    engine = _engine(slow)
    clients = [psycopg.connect(slow.dsn(), autocommit=True) for _ in range(4)]
    try:
        for n, con in enumerate(clients):
            con.pgconn.send_query(BIG.format(client=n).encode())
        _eventually(lambda: engine.result_spill.taken > 0 and engine.admission.running == 0, "the engines finished")
        with psycopg.connect(slow.dsn(), autocommit=True) as con:
            assert con.execute("select 1").fetchone() == (1,)
        for n, con in enumerate(clients):  # now they read: everything is there
            result = _result(con.pgconn)
            assert result is not None and result.ntuples == ROWS
            assert {result.get_value(row, 0) for row in (0, ROWS // 2, ROWS - 1)} == {str(n).encode()}
            assert _result(con.pgconn) is None
    finally:
        for con in clients:
            con.close()


def test_rows_read_late_are_all_there_in_order_and_each_clients_own(slow: Port) -> None:
    engine = _engine(slow)
    readers = [stalled(slow, n) for n in range(3)]
    try:
        _eventually(lambda: engine.admission.running == 0, "the statements gave their turns back")
        assert engine.result_spill.taken > 0  # some of it was on disk
        with psycopg.connect(slow.dsn(), autocommit=True) as con:
            ids = [row[0] for row in con.execute(f"select order_id from {ORDERS} order by 1")]
        expected = [(a, b, c, d) for a in ids for b in ids for c in ids for d in ids]
        for n, raw in enumerate(readers):
            rows = _rows(raw)
            assert {row[0] for row in rows} == {str(n)}
            assert [tuple(int(v) for v in row[1:5]) for row in rows] == expected
            assert all(len(row[5]) == 2000 for row in rows)
        assert (engine.result_memory.taken, engine.result_spill.taken) == (0, 0)
    finally:
        for raw in readers:
            raw.close()


def test_a_killed_client_frees_its_turn_its_memory_its_spill_and_its_connection(slow: Port) -> None:
    engine = _engine(slow)
    readers = [stalled(slow, n) for n in range(4)]
    _eventually(lambda: engine.result_spill.taken > 0, "results spilled")
    for raw in readers:
        kill(raw)
    _eventually(lambda: slow.server.connections == 0, "the connections closed")
    _eventually(
        lambda: (engine.admission.running, engine.result_memory.taken, engine.result_spill.taken) == (0, 0, 0),
        "turns, memory and spill given back",
    )
    with psycopg.connect(slow.dsn(), autocommit=True) as con:  # and the next client gets all of its rows
        assert len(con.execute(BIG.format(client=9)).fetchall()) == ROWS


def test_a_client_killed_while_the_engine_still_works_stops_it(mesh: Workspace, loop: Loop) -> None:
    # No memory and no disk for results: the engine waits for the client, as it did before spools.
    port = serve(mesh, loop, _config(result_memory=0, result_spill=0))
    engine = _engine(port)
    try:
        raw = stalled(port, 0)
        assert engine.admission.running == 1  # the engine waits for this client, keeping its turn
        kill(raw)
        _eventually(lambda: engine.admission.running == 0, "the engine stopped and gave its turn back")
        _eventually(lambda: port.server.connections == 0, "the connection closed")
    finally:
        loop.run(port.server.close())


def test_a_client_that_reads_nothing_for_too_long_is_disconnected(mesh: Workspace, loop: Loop) -> None:
    port = serve(mesh, loop, _config(client_write_timeout=0.5))
    engine = _engine(port)
    try:
        raw = stalled(port, 0)
        _eventually(lambda: port.server.connections == 0, "the stalled client was disconnected")
        _eventually(lambda: engine.result_spill.taken == 0, "its spilled rows were dropped")
        raw.close()
        with psycopg.connect(port.dsn(), autocommit=True) as con:
            assert con.execute("select 1").fetchone() == (1,)
    finally:
        loop.run(port.server.close())


def test_a_cursor_left_open_in_a_transaction_holds_no_turn_and_ends_at_the_idle_timeout(
    mesh: Workspace, loop: Loop
) -> None:
    # What pgjdbc does with a fetchSize: BEGIN, then Execute with a row limit; the portal stays suspended.
    port = serve(mesh, loop, _config(running_statements=1, idle_in_transaction_timeout=5.0))
    engine = _engine(port)
    try:
        raw = Raw(port.port)
        raw.startup("analyst")
        raw.message(b"Q", b"begin\0")
        raw.until(b"Z")
        sql = BIG.format(client=0).encode()
        raw.message(b"P", b"\0" + sql + b"\0" + struct.pack("!h", 0))
        raw.message(b"B", b"cursor\0\0" + struct.pack("!hhh", 0, 0, 0))
        raw.message(b"E", b"cursor\0" + struct.pack("!i", 10))
        raw.message(b"S")
        seen = raw.until(b"Z")
        assert len(seen[b"D"]) == 10 and b"s" in seen  # ten rows, then PortalSuspended
        _eventually(lambda: engine.admission.running == 0, "the suspended portal's engine gave its turn back")
        with psycopg.connect(port.dsn(), autocommit=True) as con:  # the only turn is free
            assert con.execute("select 1").fetchone() == (1,)
            assert port.server.connections == 2  # while the cursor's client is still there
        kind, payload = raw.read_message()  # idle in the transaction past its timeout
        assert kind == b"E" and sqlstate(payload) == "25P03"
        assert b"terminating connection due to idle-in-transaction timeout" in payload
        _eventually(lambda: (engine.result_memory.taken, engine.result_spill.taken) == (0, 0), "results dropped")
        raw.close()
    finally:
        loop.run(port.server.close())
