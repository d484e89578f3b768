"""psycopg 3, psycopg2, asyncpg and SQLAlchemy against the DuckDB reference backend."""

from __future__ import annotations

import asyncio
import warnings

import asyncpg
import psycopg
import psycopg2
import pytest
import sqlalchemy as sa
from psycopg import errors as pg_errors

from .conftest import ServerThread


def test_psycopg_prepared_and_binary(duck: ServerThread) -> None:
    with psycopg.connect(duck.dsn(), autocommit=True) as conn:
        for i in range(3):
            got = conn.execute("select %s::bigint * 2, %s::text", [i, "x"], prepare=True).fetchone()
            assert got == (i * 2, "x")
        cur = conn.cursor(binary=True)
        assert cur.execute("select id from items where id < %s order by id", [3]).fetchall() == [
            (0,),
            (1,),
            (2,),
        ]


def test_psycopg_executemany_and_transactions(duck: ServerThread) -> None:
    with psycopg.connect(duck.dsn()) as conn:
        conn.execute("create table if not exists many(a int, b text)")
        conn.commit()
        with conn.cursor() as cur:
            cur.executemany("insert into many values (%s, %s)", [(i, f"v{i}") for i in range(5)])
        assert conn.info.transaction_status.name == "INTRANS"
        conn.commit()
        assert conn.info.transaction_status.name == "IDLE"
        assert conn.execute("select count(*) from many").fetchone() == (5,)
        conn.rollback()


def test_psycopg_error_in_transaction_aborts_it(duck: ServerThread) -> None:
    with psycopg.connect(duck.dsn()) as conn:
        conn.execute("select 1")
        with pytest.raises(pg_errors.UndefinedTable):
            conn.execute("select * from missing_table")
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        with pytest.raises(pg_errors.InFailedSqlTransaction):
            conn.execute("select 1")
        conn.rollback()
        assert conn.execute("select 2").fetchone() == (2,)


def test_psycopg_stream_rows(duck: ServerThread) -> None:
    with psycopg.connect(duck.dsn(), autocommit=True) as conn:
        cur = conn.cursor()
        total = sum(row[0] for row in cur.stream("select range from range(50000)"))
        assert total == sum(range(50000))


def test_psycopg_notice(duck: ServerThread) -> None:
    received: list[str] = []
    with psycopg.connect(duck.dsn(), autocommit=True) as conn:
        conn.add_notice_handler(lambda diag: received.append(f"{diag.sqlstate}:{diag.message_primary}"))
        conn.execute("notice")
    assert received == ["01P01:this is a deprecation notice"]


def test_psycopg_empty_query_and_parameter_status(duck: ServerThread) -> None:
    with psycopg.connect(duck.dsn(application_name="probe"), autocommit=True) as conn:
        conn.execute("-- nothing")
        assert conn.info.parameter_status("server_version") == "15.0 (hexmesh)"
        assert conn.info.parameter_status("application_name") == "probe"
        assert conn.info.parameter_status("TimeZone") == "UTC"
        assert conn.info.server_version == 150000


def test_psycopg2_basics(duck: ServerThread) -> None:
    conn = psycopg2.connect(duck.dsn())
    try:
        cur = conn.cursor()
        cur.execute("select %s::int + 1, %s", (1, "two"))
        assert cur.fetchone() == (2, "two")
        cur.execute("select name from items where id = %(id)s", {"id": 7})
        assert cur.fetchall() == [("item 7",)]
        conn.commit()
    finally:
        conn.close()


def test_asyncpg_prepared_cursor_and_portal_suspension(duck: ServerThread) -> None:
    async def main() -> tuple[list[int], list[int], int]:
        conn = await asyncpg.connect(duck.url("postgresql"), ssl=False)
        try:
            stmt = await conn.prepare("select id from items where id < $1::int order by id")
            first = [r["id"] for r in await stmt.fetch(5)]
            async with conn.transaction():
                # prefetch=7 makes asyncpg Execute with a row limit: PortalSuspended, resume.
                ids = [r["id"] async for r in conn.cursor("select id from items order by id", prefetch=7)]
            value = await conn.fetchval("select $1::bigint * 3", 14)
            return first, ids, value
        finally:
            await conn.close()

    first, ids, value = asyncio.run(main())
    assert first == [0, 1, 2, 3, 4]
    assert ids == list(range(100))
    assert value == 42


def test_asyncpg_error_keeps_connection_usable(duck: ServerThread) -> None:
    async def main() -> int:
        conn = await asyncpg.connect(duck.url("postgresql"), ssl=False)
        try:
            with pytest.raises(asyncpg.PostgresError) as info:
                await conn.fetch("select * from nowhere")
            assert info.value.sqlstate == "42P01"
            return int(await conn.fetchval("select 5"))
        finally:
            await conn.close()

    assert asyncio.run(main()) == 5


def test_sqlalchemy_text_queries(duck: ServerThread) -> None:
    # hstore detection queries pg_type with regtype casts, beyond this reference backend.
    engine = sa.create_engine(duck.url("postgresql+psycopg"), use_native_hstore=False)
    try:
        with warnings.catch_warnings():
            # SQLAlchemy warns when it cannot parse an unexpected version string; it must not.
            warnings.simplefilter("error")
            with engine.connect() as conn:
                rows = conn.execute(sa.text("select id, name from items where id < :n order by id"), {"n": 2})
                assert [tuple(r) for r in rows] == [(0, "item 0"), (1, "item 1")]
                info = conn.dialect.server_version_info
                assert info is not None and info[:2] == (15, 0)
    finally:
        engine.dispose()
