"""Hostile and broken clients, cancel, timeouts and limits; the server must keep serving."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Sequence

import psycopg
import pytest
from psycopg import errors as pg_errors

from hexmesh.pgwire import AuthMethod, Limits, Result

from .arrow_backend import ArrowBackend, ArrowSession
from .conftest import ServerThread
from .rawclient import Raw, sqlstate


def assert_serves(server: ServerThread) -> None:
    """A fresh, well-behaved client still gets answers."""
    with psycopg.connect(server.dsn(), autocommit=True, connect_timeout=10) as conn:
        assert conn.execute("select 1").fetchone() == (1,)


def wait_until(predicate: Callable[[], bool], what: str) -> None:
    """Poll a condition (not a timing assertion: only a guard against hanging forever)."""
    for _ in range(2000):
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize(
    "payload",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\xaa" * 64,  # a TLS ClientHello
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\x00\x00\x00\x08\x00\x00\x00\x00",  # unknown protocol version 0.0
        b"\x7f\xff\xff\xff" + b"x" * 16,  # absurd startup length
        b"\x00\x00\x00\x64\x00\x03",  # truncated startup packet, then EOF
    ],
    ids=["tls-hello", "http", "version-0", "huge-length", "truncated"],
)
def test_garbage_before_startup(duck: ServerThread, payload: bytes) -> None:
    raw = Raw(duck.port)
    raw.send(payload)
    raw.sock.shutdown(1)
    raw.read_all()
    raw.close()
    assert_serves(duck)


def test_oversize_message_after_startup(make_server: Callable[..., ServerThread]) -> None:
    server = make_server(limits=Limits(max_message_size=1024))
    raw = Raw(server.port)
    raw.startup()
    raw.send(b"Q" + struct.pack("!i", 10_000_000))
    seen = raw.until(b"E")
    assert sqlstate(seen[b"E"][0]) == "54000"
    assert raw.read_all() == b""
    raw.close()
    assert_serves(server)


def test_unknown_message_type_is_fatal_for_that_client_only(duck: ServerThread) -> None:
    raw = Raw(duck.port)
    raw.startup()
    raw.message(b"?", b"zzz")
    seen = raw.until(b"E")
    assert sqlstate(seen[b"E"][0]) == "08P01"
    raw.close()
    assert_serves(duck)


def test_truncated_message_body(duck: ServerThread) -> None:
    raw = Raw(duck.port)
    raw.startup()
    raw.send(b"Q" + struct.pack("!i", 100) + b"select")
    raw.close()
    assert_serves(duck)


def test_malformed_bind_is_an_error_not_a_crash(duck: ServerThread) -> None:
    raw = Raw(duck.port)
    raw.startup()
    raw.message(b"P", b"\0select 1\0\0\0")
    raw.message(b"B", b"\0\0\x00\x05")  # claims 5 format codes, has none
    raw.message(b"S")
    seen = raw.until(b"Z")
    assert sqlstate(seen[b"E"][0]) == "08P01"
    raw.message(b"Q", b"select 7\0")
    assert raw.until(b"Z")[b"D"] == [b"\x00\x01\x00\x00\x00\x017"]
    raw.close()


def test_gssenc_request_is_declined(duck: ServerThread) -> None:
    raw = Raw(duck.port)
    raw.send(struct.pack("!ii", 8, 80877104))
    assert raw.sock.recv(1) == b"N"
    assert b"S" in raw.startup()
    raw.close()


def test_client_disconnects_mid_result(make_server: Callable[..., ServerThread]) -> None:
    backend = ArrowBackend()
    server = make_server(backend)
    raw = Raw(server.port)
    raw.startup()
    raw.message(b"Q", b"select * from generate(5000000)\0")
    assert raw.read_message()[0] == b"T"
    raw.close()
    wait_until(lambda: len(backend.closed) == 1, "the session to be closed")
    assert backend.sessions[0].produced < 5_000_000
    assert_serves(server)


def test_slow_client_backpressure_bounds_production(
    make_server: Callable[..., ServerThread],
) -> None:
    backend = ArrowBackend()
    server = make_server(backend)
    raw = Raw(server.port)
    raw.sock.setsockopt(__import__("socket").SOL_SOCKET, __import__("socket").SO_RCVBUF, 65536)
    raw.startup()
    raw.message(b"Q", b"select * from generate(5000000)\0")
    for _ in range(10):
        raw.read_message()
    session = backend.sessions[0]
    # Wait until production stalls because the client is not reading.
    last = -1
    while session.produced != last:
        last = session.produced
        time.sleep(0.2)
    # Only socket buffers' worth of rows (a few MB) may be ahead of the reader, not 5M rows.
    assert session.produced <= 1_000_000
    raw.close()
    wait_until(lambda: len(backend.closed) == 1, "the session to be closed")


def _run_in_thread(fn: Callable[[], None]) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def wrapper() -> None:
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=wrapper)
    thread.start()
    return thread, errors


def test_cancel_request_stops_long_duckdb_query(duck: ServerThread) -> None:
    with psycopg.connect(duck.dsn(), autocommit=True) as conn:
        pid = conn.info.backend_pid
        outcome: list[pg_errors.QueryCanceled] = []

        def run() -> None:
            try:
                conn.execute("select count(*) from range(10000000000) t(a) where a % 7 = 3")
            except pg_errors.QueryCanceled as exc:
                outcome.append(exc)

        thread, errors = _run_in_thread(run)
        wait_until(lambda: duck.server._sessions[pid].busy, "the query to start")
        conn.cancel_safe()
        thread.join(30)
        assert not errors and len(outcome) == 1
        assert outcome[0].sqlstate == "57014"
        assert "user request" in str(outcome[0])
        assert conn.execute("select 3").fetchone() == (3,)


def test_cancel_request_with_wrong_key_is_ignored(duck: ServerThread) -> None:
    raw = Raw(duck.port)
    raw.send(struct.pack("!iiii", 16, 80877102, 12345, 678))
    assert raw.read_all() == b""
    raw.close()
    assert_serves(duck)


def test_statement_timeout_from_limits(make_server: Callable[..., ServerThread]) -> None:
    server = make_server(limits=Limits(statement_timeout=0.3))
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        with pytest.raises(pg_errors.QueryCanceled, match="statement timeout"):
            conn.execute("select count(*) from range(10000000000) t(a) where a % 7 = 3")
        assert conn.execute("select 1").fetchone() == (1,)


def test_statement_timeout_hook_set_by_backend(duck: ServerThread) -> None:
    with psycopg.connect(duck.dsn(), autocommit=True) as conn:
        conn.execute("set statement_timeout = 200")
        with pytest.raises(pg_errors.QueryCanceled, match="statement timeout"):
            conn.execute("select count(*) from range(10000000000) t(a) where a % 7 = 3")
        conn.execute("set statement_timeout = 0")
        assert conn.execute("select 1").fetchone() == (1,)


def test_too_many_connections(make_server: Callable[..., ServerThread]) -> None:
    server = make_server(limits=Limits(max_connections=1))
    first = psycopg.connect(server.dsn(), autocommit=True)
    with pytest.raises(psycopg.OperationalError, match="too many clients"):
        psycopg.connect(server.dsn(), connect_timeout=10)
    raw = Raw(server.port)
    body = struct.pack("!i", 196608) + b"user\0x\0\0"
    raw.send(struct.pack("!i", len(body) + 4) + body)
    assert sqlstate(raw.until(b"E")[b"E"][0]) == "53300"
    raw.close()
    first.close()
    wait_until(lambda: not server.server._sessions, "the first session to end")
    assert_serves(server)


class _SlowLogin:
    """Trust, but each login takes a while (a token checked against a busy state store)."""

    def method(self, user: str, database: str) -> AuthMethod:
        return "password"

    def check_password(self, user: str, password: str) -> object:
        time.sleep(0.5)
        return user

    def scram_verifier(self, user: str) -> None:
        return None

    def principal(self, user: str) -> object:
        return user


def test_a_burst_of_slow_logins_never_exceeds_max_connections(make_server: Callable[..., ServerThread]) -> None:
    # The slot is taken before authentication: 12 clients logging in at once, 3 get in, the others are told why.
    server = make_server(limits=Limits(max_connections=3), authenticator=_SlowLogin(), allow_cleartext_without_tls=True)
    results: list[object] = []
    held: list[psycopg.Connection[tuple[object, ...]]] = []
    lock = threading.Lock()

    def connect() -> None:
        try:
            conn = psycopg.connect(server.dsn(password="x"), autocommit=True, connect_timeout=20)
        except psycopg.OperationalError as exc:
            with lock:
                results.append(str(exc))
            return
        with lock:
            held.append(conn)
            results.append("in")

    threads = [threading.Thread(target=connect) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert results.count("in") == 3, results
        assert all("too many clients" in str(r) for r in results if r != "in")
    finally:
        for conn in held:
            conn.close()


def test_idle_sockets_opened_first_do_not_lock_clients_out(make_server: Callable[..., ServerThread]) -> None:
    # 40 sockets that never say anything, then a real client: it gets in at once, and the
    # oldest idle sockets were closed to make room for it.
    server = make_server(limits=Limits(max_connections=4, max_startup=8))
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(40)]
    try:
        time.sleep(1.0)  # they have been silent a while (a burst of real clients is younger)
        assert_serves(server)
        idle[0].settimeout(10)
        try:
            closed = idle[0].recv(1) == b""  # closed by the server
        except ConnectionResetError:
            closed = True
        assert closed
    finally:
        for sock in idle:
            sock.close()


def test_idle_session_timeout(make_server: Callable[..., ServerThread]) -> None:
    server = make_server(limits=Limits(idle_session_timeout=0.3))
    raw = Raw(server.port)
    raw.startup()
    seen = raw.until(b"E")
    assert sqlstate(seen[b"E"][0]) == "57P05"
    assert raw.read_all() == b""
    raw.close()
    assert_serves(server)


class _BrokenSession(ArrowSession):
    def execute(self, sql: str, params: Sequence[object]) -> Result:
        return {"not": "a result"}["oops"]  # type: ignore[return-value]


def test_backend_bug_becomes_xx000(make_server: Callable[..., ServerThread]) -> None:
    server = make_server(lambda ctx: _BrokenSession(ctx, []))
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        with pytest.raises(pg_errors.InternalError_, match="KeyError"):
            conn.execute("select 1")
        with pytest.raises(pg_errors.InternalError_):
            conn.execute("select 1")


def test_close_with_connected_clients() -> None:
    server = ServerThread(ArrowBackend())
    conn = psycopg.connect(server.dsn(), autocommit=True)
    assert conn.execute("select 1").fetchone() == (1,)
    server.stop()
    with pytest.raises(psycopg.OperationalError):
        conn.execute("select 1")
    conn.close()


def test_backend_error_fields_reach_the_client(arrow_server: ServerThread) -> None:
    with psycopg.connect(arrow_server.dsn(), autocommit=True) as conn:
        with pytest.raises(pg_errors.UndefinedTable) as info:
            conn.execute("select * from unknown")
        assert info.value.diag.message_hint == "try alltypes"
        assert info.value.diag.severity == "ERROR"
