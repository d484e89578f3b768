"""Time travel in SQL: SET hexmesh.as_of, per-table forms, one snapshot set per transaction."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

from hexmesh.infra.state import from_us
from tests.product.sql.conftest import Port


def first_instant(sql: Port) -> str:
    return from_us(sql.publications[0].published_us).isoformat()


def count(con: psycopg.Connection[tuple[object, ...]], query: str) -> object:
    row = con.execute(query).fetchone()
    assert row is not None
    return row[0]


def test_set_as_of_pins_the_session_and_reset_unpins_it(sql: Port) -> None:
    with psycopg.connect(sql.dsn(), autocommit=True) as con:
        con.execute(f"SET hexmesh.as_of = '{first_instant(sql)}'")
        assert count(con, "select count(*) from sales.orders__orders") == 5
        assert count(con, "show hexmesh.as_of") == first_instant(sql)
        con.execute("SET hexmesh.as_of = '2000-01-01'")
        assert count(con, "select count(*) from sales.orders__orders") == 0  # before the first run
        con.execute("RESET hexmesh.as_of")
        assert count(con, "select count(*) from sales.orders__orders") == 9


def test_per_table_forms_in_one_query(sql: Port) -> None:
    at = first_instant(sql)
    with psycopg.connect(sql.dsn(), autocommit=True) as con:
        query = (
            f"select (select count(*) from sales.orders__orders FOR SYSTEM_TIME AS OF '{at}'),"
            f" (select count(*) from hexmesh.as_of('sales.orders__orders', '{at}')),"
            " (select count(*) from sales.orders__orders)"
        )
        assert con.execute(query).fetchone() == (5, 5, 9)


def test_event_time_windows_are_where_clauses(sql: Port) -> None:
    with psycopg.connect(sql.dsn(), autocommit=True) as con:
        day2 = "select count(*) from sales.orders__orders where ordered_at >= '2026-01-02'"
        assert count(con, day2) == 4


def test_a_transaction_sees_one_snapshot_set(sql: Port) -> None:
    between = from_us(sql.publications[1].published_us) - timedelta(microseconds=1)
    with psycopg.connect(sql.dsn()) as con:
        con.execute(f"SET hexmesh.as_of = '{between.isoformat()}'")
        assert count(con, "select count(*) from sales.orders__orders") == 5
        con.commit()


def test_bad_as_of_values_are_clear_errors(sql: Port) -> None:
    with psycopg.connect(sql.dsn(), autocommit=True) as con:
        with pytest.raises(psycopg.errors.InvalidDatetimeFormat, match="as_of"):
            con.execute("SET hexmesh.as_of = 'yesterday-ish'")
        con.execute("SET hexmesh.as_of = '2999-01-01'")
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="future"):
            con.execute("select count(*) from sales.orders__orders")
        con.execute("RESET ALL")
        assert count(con, "select count(*) from sales.orders__orders") == 9
