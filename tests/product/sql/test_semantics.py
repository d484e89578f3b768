"""What a query means, compared with PostgreSQL answering the same statement over the same rows.

The twin (conftest.postgres_twin) holds the orders the port serves, copied through the port itself;
each statement runs on both, and the answers are compared as psql would show them (text).
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests.product.sql.conftest import Port


@pytest.fixture
def twin(sql: Port, postgres_twin: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A connection to the twin, holding the rows of sales.orders__orders as the port serves them."""
    with psycopg.connect(sql.dsn(), autocommit=True) as port:
        rows = port.execute("select * from sales.orders__orders").fetchall()
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={postgres_twin}", autocommit=True) as con:
        with con.cursor() as cur:
            cur.executemany("insert into sales.orders__orders values (%s, %s, %s, %s)", rows)
        yield con


def answers(con: psycopg.Connection[tuple[object, ...]], statement: str) -> tuple[list[str], list[tuple[str, ...]]]:
    """Column names and rows as text, as psql shows them."""
    with con.cursor(binary=False) as cur:
        cur.execute(statement)
        names = [c.name for c in cur.description or []]
        text = [tuple("" if v is None else str(v) for v in row) for row in cur.fetchall()]
    return names, text


def same(sql: Port, twin: psycopg.Connection[tuple[object, ...]], statement: str, *setup: str) -> None:
    """``statement`` answers on the port exactly as on PostgreSQL, after the same ``setup``."""
    with psycopg.connect(sql.dsn(), autocommit=True) as port:
        for command in setup:
            port.execute(command)
            twin.execute(command)
        got = answers(port, statement)
    want = answers(twin, statement)
    for command in setup:  # the twin connection is shared by the test's statements
        if command.upper().startswith("SET"):
            twin.execute("RESET ALL")
    assert got == want


#: Instants computed in the session's zone: the local day, hour, month and text. The orders lie at
#: 01:00-07:00 UTC, which is the evening before in Los Angeles and past 06:30 in Kolkata.
LOCAL_TIME = [
    "select order_id, ordered_at::date, date_trunc('day', ordered_at), extract(hour from ordered_at), "
    "to_char(ordered_at, 'YYYY-MM-DD HH24:MI'), ordered_at::text from sales.orders__orders order by order_id",
    "select ordered_at::date as day, count(*) from sales.orders__orders group by 1 order by 1",
    "select date_trunc('month', '2026-06-30 20:00:00+00'::timestamptz), "
    "'2026-07-01 18:45:00+00'::timestamptz::date, extract(day from '2026-07-01 18:45:00+00'::timestamptz)",
    # A time without an offset is read in the session's zone.
    "select '2026-01-01 00:30'::timestamptz = '2026-01-01 00:30+00'::timestamptz, "
    "count(*) from sales.orders__orders where ordered_at < '2026-01-02'",
]


@pytest.mark.parametrize("zone", ["'America/Los_Angeles'", "'Asia/Kolkata'", "-7", "'UTC'"])
@pytest.mark.parametrize("statement", LOCAL_TIME)
def test_times_are_computed_in_the_session_time_zone(
    sql: Port, twin: psycopg.Connection[tuple[object, ...]], zone: str, statement: str
) -> None:
    same(sql, twin, statement, f"SET TIME ZONE {zone}")


def test_a_session_computes_in_its_own_zone_while_another_computes_in_utc(sql: Port) -> None:
    statement = "select ordered_at::date, extract(hour from ordered_at) from sales.orders__orders where order_id = 1"
    with psycopg.connect(sql.dsn(), autocommit=True) as west, psycopg.connect(sql.dsn(), autocommit=True) as utc:
        west.execute("SET TIME ZONE 'America/Los_Angeles'")
        assert [tuple(map(str, r)) for r in west.execute(statement).fetchall()] == [("2025-12-31", "17")]
        assert [tuple(map(str, r)) for r in utc.execute(statement).fetchall()] == [("2026-01-01", "1")]
        west.execute("RESET TIME ZONE")
        assert [tuple(map(str, r)) for r in west.execute(statement).fetchall()] == [("2026-01-01", "1")]
