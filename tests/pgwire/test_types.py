"""Every supported type, in text and binary, through real clients; parameters both ways."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

import asyncpg
import psycopg
import psycopg2
import pytest

from .arrow_backend import SCALARS, UTC
from .conftest import ServerThread


def _expected(name: str, value: object) -> object:
    """What psycopg 3 returns for a stored Arrow value."""
    if value is None:
        return None
    dtype = SCALARS[name][0]
    if name == "iv":
        m, d, ns = value.months, value.days, value.nanoseconds  # type: ignore[attr-defined]
        assert m == 0
        return dt.timedelta(days=d, microseconds=ns // 1000)
    if name == "u":
        return uuid.UUID(bytes=value)  # type: ignore[arg-type]
    if name in ("j", "jb"):
        return json.loads(value)  # type: ignore[arg-type]
    del dtype
    return value


def _expected_row(index: int) -> dict[str, object]:
    row: dict[str, object] = {}
    for name, (_dtype, _meta, values) in SCALARS.items():
        row[name] = _expected(name, values[index])
        if index == 0:
            row[name + "_arr"] = [_expected(name, values[0]), None, _expected(name, values[1])]
        else:
            row[name + "_arr"] = [] if index == 1 else None
    return row


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_psycopg_reads_every_type(arrow_server: ServerThread, binary: bool) -> None:
    with psycopg.connect(arrow_server.dsn(), autocommit=True) as conn:
        cur = conn.cursor(binary=binary)
        rows = cur.execute("select * from alltypes").fetchall()
        names = [d.name for d in cur.description or []]
    for index, row in enumerate(rows):
        got = dict(zip(names, row, strict=True))
        if index == 2:
            assert set(got.values()) == {None}
            continue
        assert got == _expected_row(index)


def test_asyncpg_reads_every_type_binary(arrow_server: ServerThread) -> None:
    # asyncpg introspects pg_type for every array type but text[]; this backend cannot answer.
    columns = [*SCALARS, "t_arr"]

    async def main() -> list[Any]:
        conn = await asyncpg.connect(arrow_server.url("postgresql"), ssl=False)
        try:
            return list(await conn.fetch(f"select {', '.join(columns)} from alltypes"))
        finally:
            await conn.close()

    rows = asyncio.run(main())
    first = dict(rows[0])
    expected = {k: v for k, v in _expected_row(0).items() if k in columns}
    for key in ("j", "jb"):
        first[key] = json.loads(first[key])
    first["u"] = uuid.UUID(str(first["u"]))
    assert first == expected
    assert set(dict(rows[2]).values()) == {None}


def test_psycopg2_reads_scalars_as_text(arrow_server: ServerThread) -> None:
    conn = psycopg2.connect(arrow_server.dsn())
    try:
        cur = conn.cursor()
        cur.execute("select * from alltypes")
        names = [d[0] for d in cur.description]
        row = dict(zip(names, cur.fetchone(), strict=True))
    finally:
        conn.close()
    assert row["i8"] == 2**40 and row["num"] == Decimal("12345.6789")
    assert bytes(row["by"]) == b"\x00\x01\xfe\xff"
    assert row["tstz"] == dt.datetime(2024, 5, 6, 7, 8, 9, 500000, tzinfo=UTC)
    assert row["iv"] == dt.timedelta(days=3, seconds=3723, microseconds=4)
    assert row["i4_arr"] == [123456, None, -2147483648]
    assert row["t_arr"] == ["héllo wörld", None, ""]
    assert row["j"] == {"a": [1, 2, None]}


PARAMS: list[tuple[str, object]] = [
    ("bool", True),
    ("smallint", -7),
    ("int", 2_000_000_000),
    ("bigint", -(2**62)),
    ("double", 2.5),
    ("numeric(12,4)", Decimal("-1234.5678")),
    ("text", "naïve 'quoted' \"x\""),
    ("bytea", b"\x00\xffbytes"),
    ("date", dt.date(2023, 12, 31)),
    ("time", dt.time(23, 59, 58, 999999)),
    ("timestamp", dt.datetime(2020, 2, 2, 2, 2, 2, 2)),
    ("timestamptz", dt.datetime(2020, 2, 2, 2, 2, 2, 2, tzinfo=UTC)),
    ("interval", dt.timedelta(days=2, seconds=7, microseconds=9)),
    ("uuid", uuid.UUID("0f0e0d0c-0b0a-0908-0706-050403020100")),
    ("int[]", [1, None, 3]),
    ("text[]", ["a", "b c", None]),
]


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_psycopg_parameters_round_trip(duck: ServerThread, binary: bool) -> None:
    with psycopg.connect(duck.dsn(), autocommit=True) as conn:
        cur = conn.cursor(binary=binary)
        for sql_type, value in PARAMS:
            pg_type = {"double": "float8", "bytea": "bytea"}.get(sql_type, sql_type)
            got = cur.execute(
                f"select %b::{pg_type} as v" if binary else f"select %t::{pg_type} as v", [value]
            ).fetchone()
            assert got == (value,), sql_type


def test_asyncpg_parameters_round_trip(duck: ServerThread) -> None:
    values = [(t, v) for t, v in PARAMS if t not in ("double", "text[]", "int[]")]

    async def main() -> list[object]:
        conn = await asyncpg.connect(duck.url("postgresql"), ssl=False)
        try:
            out = []
            for sql_type, value in values:
                out.append(await conn.fetchval(f"select $1::{sql_type}", value))
            out.append(await conn.fetchval("select $1::text[]", ["x", None]))
            return out
        finally:
            await conn.close()

    got = asyncio.run(main())
    expected = [v for _, v in values] + [["x", None]]
    assert [str(g) if isinstance(g, uuid.UUID) else g for g in got] == [
        str(e) if isinstance(e, uuid.UUID) else e for e in expected
    ]
