"""The leak hunt on the SQL port: a hidden column or a filtered-out row leaves no trace by any path.

``margin`` is hidden from analysts and the regional principal; US rows are outside the regional
principal's filter (region = EU). Every path below must return neither the values nor anything
derived from them; errors may name the column the user typed, never a value.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.types.string import StrDumper

from tests.product.policy.conftest import MARGINS, US_AMOUNT, Governed

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
    assert entries and entries[-1].decision == "deny" and entries[-1].resource == "dp://sales/orders/orders"
    assert audit.verify(governed.sidecar.db) is None


# -- issue 11: nothing a client can name resolves to an unshaped source ---------------------------

#: Ways to reach a relation by a string, to list the engine's relations, or to read a file.
UNVETTED_SOURCES = [
    "select * from query_table('sales.orders__orders')",
    "select * from query('select * from sales.orders__orders')",
    "select * from duckdb_views()",
    "select * from duckdb_tables()",
    "select * from duckdb_columns()",
    "select * from duckdb_settings()",
    "select * from duckdb_databases()",
    "select * from sqlite_master",
    "select * from duckdb_views",
    "select * from temp.main.anything",
    "select * from read_parquet('x.parquet')",
    "select * from parquet_metadata('x.parquet')",
    "select * from glob('*')",
    "select * from sales.orders__orders, lateral query_table('sales.orders__orders') q",
    "select json_execute_serialized_sql(json_serialize_sql('select 1'))",
    "select getvariable('x')",
    "select * from (with duckdb_settings as (select 1) select 1) a, duckdb_settings",
]


@pytest.mark.parametrize("sql", UNVETTED_SOURCES)
def test_unvetted_table_functions_and_engine_relations_are_unknown(
    restricted: psycopg.Connection[tuple[object, ...]], sql: str
) -> None:
    with pytest.raises(psycopg.Error) as caught:
        restricted.execute(sql).fetchall()
    assert caught.value.sqlstate in ("42883", "42P01", "42501", "42939", "0A000", "42601"), caught.value


def test_query_table_with_a_parameter_reaches_no_per_statement_source(
    restricted: psycopg.Connection[tuple[object, ...]],
) -> None:
    # The attack of issue 11: one statement reads the port table (so the port registers a source
    # for it), lists the engine's views and reads a relation named by its text parameter. The
    # first execution learns the source's name; the same text (same cached name) executed with
    # that name read the raw source: real customers where the analyst sees pseudonyms.
    restricted.adapters.register_dumper(str, StrDumper)  # a typed text parameter, as pgjdbc's setString
    sql = (
        "select (select max(view_name) from duckdb_views() where view_name like 'hexmesh_src%%') as name, "
        "(select max(customer) from query_table(%s)) as leaked, (select count(*) from sales.orders__orders) as n"
    )
    name = "sales.orders__orders"
    for _ in range(2):
        with pytest.raises(psycopg.errors.UndefinedFunction):
            row = restricted.execute(sql, [name]).fetchone()
            assert row is not None and "cust" not in str(row[1])
            name = str(row[0])


LISTINGS = [
    "select table_name::varchar from information_schema.tables",
    "select table_name::varchar from information_schema.columns",
    "select table_name::varchar from information_schema.views",
    "select relname::varchar from pg_catalog.pg_class",
    "select viewname::varchar from pg_catalog.pg_views",
    "select tablename::varchar from pg_catalog.pg_tables",
]


@pytest.mark.parametrize("listing", LISTINGS)
def test_catalog_listings_do_not_show_a_statements_sources(
    restricted: psycopg.Connection[tuple[object, ...]], listing: str
) -> None:
    # In the same statement as a read of the port table, while its source is registered.
    statement = f"select n from ({listing}) l(n), (select count(*) from sales.orders__orders) c"
    rows = restricted.execute(statement).fetchall()
    names = [str(r[0]) for r in rows]
    assert names or "views" in listing
    assert not any(n.startswith("hexmesh") or n.startswith("duckdb_") for n in names), names


def test_no_server_setting_or_path_reaches_a_client(
    restricted: psycopg.Connection[tuple[object, ...]], governed: Governed
) -> None:
    paths = {os.getcwd(), str(governed.workspace.settings.home)}
    answers = []
    for sql in (
        "select current_setting('temp_directory')",
        "select current_setting('home_directory')",
        "select current_setting('allowed_directories')",
        "select * from pg_catalog.pg_settings",  # PostgreSQL's settings, never the engine's
        "show all",
    ):
        try:
            answers.append(repr(restricted.execute(sql).fetchall()))
        except psycopg.Error as exc:
            answers.append(str(exc))
    for text in answers:
        assert not any(path in text for path in paths), text


def test_filters_and_group_bys_on_masked_columns_act_on_the_masked_values(governed: Governed) -> None:
    # Analysts see pseudonymized customers and amounts in bands: a filter on a real value is no oracle.
    with psycopg.connect(governed.dsn(governed.tokens["analyst"]), autocommit=True) as con:
        assert con.execute("select count(*) from sales.orders__orders where customer = 'cust0'").fetchone() == (0,)
        assert con.execute("select count(*) from sales.orders__orders where customer like 'cust%'").fetchone() == (0,)
        exact = con.execute(f"select count(*) from sales.orders__orders where amount::varchar = '{US_AMOUNT}'")
        assert exact.fetchone() == (0,)
        groups = con.execute("select amount, count(*) from sales.orders__orders group by amount").fetchall()
        assert all("-" in str(band) for band, _ in groups) and str(US_AMOUNT) not in repr(groups)
        joined = con.execute(
            "select count(*) from sales.orders__orders a join (values ('cust1')) v(c) on a.customer = v.c"
        ).fetchone()
        assert joined == (0,)
