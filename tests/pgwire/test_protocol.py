"""Extended-protocol details checked at the message level, plus COPY through psycopg."""

from __future__ import annotations

import struct
from typing import Any

import psycopg
import pytest

from hexmesh.pgwire.server import Limits

from .arrow_backend import ArrowBackend
from .conftest import ServerThread
from .rawclient import Raw, sqlstate


def _parse(name: str, sql: str, types: tuple[int, ...] = ()) -> bytes:
    packed = struct.pack(f"!h{len(types)}i", len(types), *types)
    return name.encode() + b"\0" + sql.encode() + b"\0" + packed


def _bind(portal: str, stmt: str, params: list[bytes], result_format: int = 0) -> bytes:
    body = portal.encode() + b"\0" + stmt.encode() + b"\0" + struct.pack("!hh", 0, len(params))
    for p in params:
        body += struct.pack("!i", len(p)) + p
    return body + struct.pack("!hh", 1, result_format)


def _execute(portal: str, limit: int) -> bytes:
    return portal.encode() + b"\0" + struct.pack("!i", limit)


def test_named_portal_row_limit_suspends_and_resumes(duck: ServerThread) -> None:
    raw = Raw(duck.port)
    raw.startup()
    raw.message(b"P", _parse("s1", "select id from items where id < $1 order by id", (23,)))
    raw.message(b"B", _bind("p1", "s1", [b"5"]))
    raw.message(b"D", b"Pp1\0")
    raw.message(b"E", _execute("p1", 2))
    raw.message(b"E", _execute("p1", 2))
    raw.message(b"E", _execute("p1", 0))
    raw.message(b"S")
    seen = raw.until(b"Z")
    assert len(seen[b"1"]) == 1 and len(seen[b"2"]) == 1 and len(seen[b"T"]) == 1
    assert [d[-1:] for d in seen[b"D"]] == [b"0", b"1", b"2", b"3", b"4"]
    assert len(seen[b"s"]) == 2
    assert seen[b"C"] == [b"SELECT 5\0"]
    raw.close()


def test_rows_cross_many_chunks_once_each_whole_or_suspended(make_server: Any) -> None:
    # Chunks of 7 rows: the next chunk is encoded while one drains, and a row limit that ends
    # mid-chunk must neither lose nor repeat a row.
    server = make_server(ArrowBackend(), limits=Limits(batch_rows=7))
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        rows = conn.execute("select * from generate(1000)").fetchall()
    assert [r[0] for r in rows] == list(range(1000))
    assert rows[999] == (999, "row 999")
    raw = Raw(server.port)
    raw.startup()
    raw.message(b"P", _parse("", "select * from generate(30)"))
    raw.message(b"B", _bind("p", "", []))
    for limit in (10, 11, 0):
        raw.message(b"E", _execute("p", limit))
    raw.message(b"S")
    per_execute: list[list[int]] = [[]]
    ends: list[bytes] = []
    while (message := raw.read_message())[0] != b"Z":
        kind, payload = message
        if kind == b"D":
            per_execute[-1].append(int(payload[6 : 6 + struct.unpack_from("!i", payload, 2)[0]]))
        elif kind in (b"s", b"C"):
            ends.append(kind if kind == b"s" else payload)
            per_execute.append([])
    assert per_execute == [list(range(10)), list(range(10, 21)), list(range(21, 30)), []]
    assert ends == [b"s", b"s", b"SELECT 30\0"]
    raw.close()


def test_binary_result_format_and_statement_describe(duck: ServerThread) -> None:
    raw = Raw(duck.port)
    raw.startup()
    raw.message(b"P", _parse("s2", "select $1::bigint * 2 as doubled"))
    raw.message(b"D", b"Ss2\0")
    raw.message(b"B", _bind("", "s2", [b"21"], result_format=1))
    raw.message(b"E", _execute("", 0))
    raw.message(b"S")
    seen = raw.until(b"Z")
    assert seen[b"t"] == [struct.pack("!hi", 1, 20)]
    assert b"doubled" in seen[b"T"][0]
    assert seen[b"D"] == [struct.pack("!hiq", 1, 8, 42)]
    raw.close()


def test_error_skips_to_sync(duck: ServerThread) -> None:
    raw = Raw(duck.port)
    raw.startup()
    raw.message(b"P", _parse("", "select * from nowhere_table"))
    raw.message(b"B", _bind("", "", []))
    raw.message(b"E", _execute("", 0))
    raw.message(b"B", _bind("", "missing_statement", []))
    raw.message(b"S")
    seen = raw.until(b"Z")
    assert [sqlstate(e) for e in seen[b"E"]] == ["42P01"]
    assert b"D" not in seen
    raw.message(b"Q", b"select 1\0")
    assert raw.until(b"Z")[b"C"] == [b"SELECT 1\0"]
    raw.close()


def test_protocol_level_statement_errors(duck: ServerThread) -> None:
    raw = Raw(duck.port)
    raw.startup()
    raw.message(b"P", _parse("dup", "select 1"))
    raw.message(b"S")
    raw.until(b"Z")
    for message, state in [
        (
            b"P" + struct.pack("!i", 4 + len(_parse("dup", "select 2"))) + _parse("dup", "select 2"),
            "42P05",
        ),
        (
            b"P" + struct.pack("!i", 4 + len(_parse("", "select 1; select 2"))) + _parse("", "select 1; select 2"),
            "42601",
        ),
        (b"B" + struct.pack("!i", 4 + len(_bind("", "nope", []))) + _bind("", "nope", []), "26000"),
        (b"E" + struct.pack("!i", 4 + len(_execute("ghost", 0))) + _execute("ghost", 0), "34000"),
    ]:
        raw.send(message)
        raw.message(b"S")
        seen = raw.until(b"Z")
        assert [sqlstate(e) for e in seen[b"E"]] == [state]
    raw.message(b"C", b"Sdup\0")
    raw.message(b"C", b"Pnever\0")
    raw.message(b"S")
    assert len(raw.until(b"Z")[b"3"]) == 2
    raw.close()


def test_transaction_status_byte(duck: ServerThread) -> None:
    raw = Raw(duck.port)
    raw.startup()
    statuses = []
    for sql in ["begin", "select 1", "select * from nowhere", "select 1", "rollback", "select 1"]:
        raw.message(b"Q", sql.encode() + b"\0")
        statuses.append(raw.until(b"Z")[b"Z"][0])
    assert statuses == [b"T", b"T", b"E", b"E", b"I", b"I"]
    raw.message(b"Q", b"begin; select * from nowhere; commit\0")
    seen = raw.until(b"Z")
    assert seen[b"Z"] == [b"E"]
    raw.message(b"Q", b"commit\0")
    seen = raw.until(b"Z")
    assert seen[b"C"] == [b"ROLLBACK\0"] and seen[b"Z"] == [b"I"]
    raw.close()


def test_psycopg_copy_to_stdout(duck: ServerThread) -> None:
    with psycopg.connect(duck.dsn(), autocommit=True) as conn, conn.cursor() as cur:
        sql = "COPY (select id, name from items where id < 3 order by id) TO STDOUT (FORMAT csv)"
        with cur.copy(sql) as copy:
            data = b"".join(bytes(chunk) for chunk in copy)
        assert data == b"0,item 0\n1,item 1\n2,item 2\n"
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            cur.execute("COPY items FROM STDIN")


def test_empty_query_and_deallocate(duck: ServerThread) -> None:
    raw = Raw(duck.port)
    raw.startup()
    raw.message(b"Q", b"  ;  \0")
    assert b"I" in raw.until(b"Z")
    raw.message(b"P", _parse("gone", "select 1"))
    raw.message(b"S")
    raw.until(b"Z")
    raw.message(b"Q", b"deallocate gone\0")
    assert raw.until(b"Z")[b"C"] == [b"DEALLOCATE\0"]
    raw.message(b"B", _bind("", "gone", []))
    raw.message(b"S")
    assert sqlstate(raw.until(b"Z")[b"E"][0]) == "26000"
    raw.close()
