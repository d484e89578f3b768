"""The pgoutput parser on messages laid out as PostgreSQL's protocol chapter describes them."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import pytest

from hexmesh.product.pgoutput import Decoder, PgOutputError, format_lsn, parse_lsn


def text(value: str) -> bytes:
    return value.encode() + b"\0"


def relation() -> bytes:
    columns = [(1, "id", 20), (0, "name", 25)]
    body = b"R" + struct.pack("!I", 16384) + text("public") + text("users") + b"d" + struct.pack("!h", len(columns))
    for flags, name, oid in columns:
        body += struct.pack("!b", flags) + text(name) + struct.pack("!Ii", oid, -1)
    return body


def row(*values: str | None) -> bytes:
    body = struct.pack("!h", len(values))
    for value in values:
        if value is None:
            body += b"n"
        else:
            body += b"t" + struct.pack("!i", len(value.encode())) + value.encode()
    return body


MICROS_2026 = int((datetime(2026, 1, 1, tzinfo=UTC) - datetime(2000, 1, 1, tzinfo=UTC)).total_seconds() * 1e6)


def transaction(*changes: bytes, xid: int = 700, lsn: int = 0x1_0000_0100) -> list[bytes]:
    begin = b"B" + struct.pack("!QqI", lsn, MICROS_2026, xid)
    commit = b"C" + struct.pack("!bQQq", 0, lsn, lsn + 0x30, MICROS_2026)
    return [begin, *changes, commit]


def test_inserts_updates_deletes_and_truncates_are_decoded_in_commit_order() -> None:
    decoder = Decoder()
    messages = transaction(
        relation(),
        b"I" + struct.pack("!I", 16384) + b"N" + row("1", "ann"),
        b"U" + struct.pack("!I", 16384) + b"O" + row("1", "ann") + b"N" + row("1", "anne"),
        b"D" + struct.pack("!I", 16384) + b"K" + row("1", None),
        b"T" + struct.pack("!ib", 1, 0) + struct.pack("!I", 16384),
    )
    for message in messages:
        decoder.feed(message)
    (done,) = decoder.transactions
    assert done.xid == 700 and format_lsn(done.commit_lsn) == "1/100" and done.end_lsn == done.commit_lsn + 0x30
    assert done.committed_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert [(c.op, c.values) for c in done.changes] == [
        ("insert", {"id": "1", "name": "ann"}),
        ("update", {"id": "1", "name": "anne"}),
        ("delete", {"id": "1", "name": None}),
        ("truncate", {"id": None, "name": None}),
    ]
    assert [c.key for c in done.changes[0].relation.columns] == [True, False]


def test_lsn_text_round_trips() -> None:
    assert parse_lsn("16/B374D848") == 0x16_B374D848
    assert format_lsn(parse_lsn("0/1A2B")) == "0/1A2B"


@pytest.mark.parametrize(
    ("messages", "says"),
    [
        ([b"I" + struct.pack("!I", 1) + b"N" + row("1")], "before its Relation message"),
        ([relation(), b"I" + struct.pack("!I", 16384) + b"N" + row("1", "x")], "outside a transaction"),
        ([b"Z"], "message kind 'Z' is not known"),
        (
            [relation(), b"B" + struct.pack("!QqI", 1, 0, 1), b"I" + struct.pack("!I", 16384) + b"N" + row("1")],
            "has 1 columns, its relation 2",
        ),
    ],
)
def test_messages_it_cannot_read_are_clear_errors(messages: list[bytes], says: str) -> None:
    decoder = Decoder()
    with pytest.raises(PgOutputError, match=says):
        for message in messages:
            decoder.feed(message)
