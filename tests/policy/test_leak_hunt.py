"""The leak hunt on the SQL port: a hidden column or a filtered-out row leaves no trace by any path.

``margin`` is hidden from analysts and the regional principal; US rows are outside the regional
principal's filter (region = EU). Every path below must return neither the values nor anything
derived from them; errors may name the column the user typed, never a value.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests.policy.conftest import MARGINS, US_AMOUNT, Governed

LEAKY_QUERIES = [
    "select * from sales.orders__orders",
    "select * from (select * from sales.orders__orders) s",
    "with t as (select * from sales.orders__orders) select * from t",
    "select o.* from sales.orders__orders o join sales.orders__orders p on o.order_id = p.order_id",
    "select order_id::varchar from sales.orders__orders union all select customer from sales.orders__orders",
    "select count(*), min(order_id), max(order_id), sum(order_id) from sales.orders__orders",
    "select to_json(o)::varchar from sales.orders__orders o",
    "table sales.orders__orders",
]

HIDDEN_COLUMN_PATHS = [
    "select margin from sales.orders__orders",
    "select max(margin) from sales.orders__orders",
    "select min(margin) from sales.orders__orders",
    "select order_id from sales.orders__orders order by margin",
    "select order_id from sales.orders__orders where margin > 4242",
    "select o.margin from sales.orders__orders o",
    "with t as (select margin from sales.orders__orders) select * from t",
    "select order_id from sales.orders__orders union select margin::bigint from sales.orders__orders",
    "select * from sales.orders__orders a join sales.orders__orders b on a.margin = b.margin",
    "select sales.orders__orders.margin from sales.orders__orders",
]


def _text(rows: list[tuple[object, ...]]) -> str:
    return repr(rows)


def _assert_no_margin(text: str) -> None:
    for margin in MARGINS:
        assert f"{margin}" not in text and f"{int(margin)}" not in text, text


@pytest.fixture(params=["analyst", "regional"])
def restricted(request: pytest.FixtureRequest, governed: Governed) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(governed.dsn(governed.tokens[request.param]), autocommit=True) as con:
        yield con


@pytest.mark.parametrize("sql", LEAKY_QUERIES)
def test_queries_over_the_table_never_show_the_hidden_column(
    restricted: psycopg.Connection[tuple[object, ...]], sql: str
) -> None:
    cursor = restricted.execute(sql)
    assert cursor.description is not None
    assert "margin" not in [c.name for c in cursor.description]
    _assert_no_margin(_text(cursor.fetchall()))


@pytest.mark.parametrize("sql", HIDDEN_COLUMN_PATHS)
def test_naming_the_hidden_column_is_an_error_without_values(
    restricted: psycopg.Connection[tuple[object, ...]], sql: str
) -> None:
    with pytest.raises(psycopg.Error) as caught:
        restricted.execute(sql).fetchall()
    assert caught.value.sqlstate in ("42703", "42P01", "42601")
    _assert_no_margin(str(caught.value) + str(caught.value.diag.message_detail) + str(caught.value.diag.message_hint))


def test_the_catalog_does_not_list_the_hidden_column(restricted: psycopg.Connection[tuple[object, ...]]) -> None:
    columns = restricted.execute(
        "select column_name from information_schema.columns where table_name = 'orders__orders'"
    ).fetchall()
    assert ("order_id",) in columns and ("margin",) not in columns
    attributes = restricted.execute(
        "select attname from pg_catalog.pg_attribute a join pg_catalog.pg_class c on a.attrelid = c.oid "
        "where c.relname = 'orders__orders'"
    ).fetchall()
    assert ("margin",) not in attributes


def test_the_owner_sees_everything(governed: Governed) -> None:
    with psycopg.connect(governed.dsn(governed.tokens["owner"])) as con:
        rows = con.execute("select customer, margin from sales.orders__orders order by order_id").fetchall()
        columns = con.execute(
            "select column_name from information_schema.columns where table_name = 'orders__orders'"
        ).fetchall()
    assert [r[1] for r in rows] == MARGINS
    assert rows[0][0] == "cust0"
    assert ("margin",) in columns


REGIONAL_PATHS = [
    "select * from sales.orders__orders",
    "select count(*), max(amount), sum(amount) from sales.orders__orders",
    "select * from sales.orders__orders where region = 'US'",
    "select region, count(*) from sales.orders__orders group by region",
    "with t as (select * from sales.orders__orders) select * from t where amount > 500",
    "select * from sales.orders__orders a full join sales.orders__orders b on a.order_id = b.order_id",
    "select amount from sales.orders__orders order by amount desc limit 1",
]


@pytest.mark.parametrize("sql", REGIONAL_PATHS)
def test_rows_outside_the_filter_leave_no_trace(governed: Governed, sql: str) -> None:
    with psycopg.connect(governed.dsn(governed.tokens["regional"])) as con:
        rows = con.execute(sql).fetchall()
    text = _text(rows)
    assert str(US_AMOUNT) not in text and "'US'" not in text
    if "count(*)" in sql and "group by" not in sql:
        assert rows[0][0] == 8  # the 8 EU rows of 12


def test_masking_is_visible_to_analysts(governed: Governed) -> None:
    with psycopg.connect(governed.dsn(governed.tokens["analyst"])) as con:
        rows = con.execute("select customer, amount from sales.orders__orders order by order_id").fetchall()
        joined = con.execute(
            "select count(*) from sales.orders__orders a join sales.orders__orders b on a.customer = b.customer"
        ).fetchone()
    customers = {r[0] for r in rows}
    assert all(isinstance(c, str) and c.startswith("p_") for c in customers)
    assert len(customers) == 5  # consistent pseudonyms: five customers stay five
    assert not any("cust" in c for c in customers)
    assert {r[1] for r in rows} >= {"10-19", "770-779"}  # amounts in bands of 10
    assert joined is not None and joined[0] > 12  # joins on pseudonyms still work


def test_a_principal_without_access_is_refused_with_how_to_ask(governed: Governed) -> None:
    with psycopg.connect(governed.dsn(governed.tokens["stranger"]), autocommit=True) as con:
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as caught:
            con.execute("select order_id from sales.orders__orders").fetchall()
        tables = con.execute("select table_name from information_schema.tables").fetchall()
    assert "hexmesh access request" in str(caught.value)
    assert ("orders__orders",) not in tables


def test_every_read_is_audited(governed: Governed) -> None:
    from hexmesh.infra.state import audit

    with (
        psycopg.connect(governed.dsn(governed.tokens["stranger"])) as con,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        con.execute("select 1 from sales.orders__orders").fetchall()
    entries = audit.query(governed.sidecar.db, actor="User:mallory", action="sql.read")
    assert entries and entries[-1].decision == "deny" and entries[-1].resource == "sales/orders/orders"
    assert audit.verify(governed.sidecar.db) is None
