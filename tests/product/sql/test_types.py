"""Every logical type of a port round-trips through the SQL port, in text and in binary."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time
from decimal import Decimal

import asyncpg
import psycopg
import pytest

from tests.product.sql.conftest import Port

EXPECTED = (
    1,
    'héllo, "world"',
    1.5,
    Decimal("12.34"),
    True,
    date(2026, 1, 2),
    datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
    time(1, 2, 3, 500000),
    b"\xab\x00",
)
QUERY = "select * from lab.every_type__values order by i"


@pytest.mark.parametrize("binary", [False, True])
def test_psycopg_text_and_binary(sql: Port, binary: bool) -> None:
    with psycopg.connect(sql.dsn(), autocommit=True) as con:
        rows = con.cursor(binary=binary).execute(QUERY).fetchall()
    assert rows[0] == EXPECTED
    assert rows[1] == (2,) + (None,) * 8


def test_asyncpg_binary(sql: Port) -> None:
    async def fetch() -> list[asyncpg.Record]:
        con = await asyncpg.connect(sql.url("postgresql"), ssl=False)
        try:
            rows: list[asyncpg.Record] = await con.fetch(QUERY)
            return rows
        finally:
            await con.close()

    rows = asyncio.run(fetch())
    assert tuple(rows[0].values()) == EXPECTED


def test_required_fields_are_not_null_in_the_catalog(sql: Port) -> None:
    with psycopg.connect(sql.dsn(), autocommit=True) as con:
        rows = con.execute(
            "select column_name, is_nullable from information_schema.columns "
            "where table_schema = 'lab' and table_name = 'every_type__values' order by ordinal_position"
        ).fetchall()
    assert rows[:2] == [("i", "NO"), ("s", "YES")]


def test_array_literals_are_read_as_postgresql_reads_them(sql: Port, postgres_twin: str) -> None:
    # '{…}' cast to an array type, and = ANY('{…}'): quoted elements, NULL, empty arrays.
    statement = (
        "select '{1,2,3}'::int4[], '{a,\"b,c\",\"d\\\"e\",NULL}'::text[], '{}'::int8[], "
        "'{true,false}'::bool[], 'p' = ANY('{r,p,f}'), 'x' = ANY('{r,p,f}')"
    )
    with psycopg.connect(sql.dsn(), autocommit=True) as port:
        got = port.execute(statement).fetchone()
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={postgres_twin}", autocommit=True) as twin:
        want = twin.execute(statement).fetchone()
    assert got == want == ([1, 2, 3], ["a", "b,c", 'd"e', None], [], [True, False], True, False)
