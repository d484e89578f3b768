"""Real clients against the SQL port: psql, psycopg 3, psycopg2, SQLAlchemy + pandas, asyncpg."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pandas as pd
import psycopg
import psycopg2
import pytest
import sqlalchemy as sa

from tests.product.sql.conftest import Port

needs_psql = pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")


def psql(sql: Port, *commands: str) -> str:
    args = ["psql", sql.dsn(), "-X", "-v", "ON_ERROR_STOP=1"]
    for command in commands:
        args += ["-c", command]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@needs_psql
def test_psql_lists_and_describes_port_tables(sql: Port) -> None:
    listing = psql(sql, r"\dt", r"\dn")
    rows = [[cell.strip() for cell in line.split("|")] for line in listing.splitlines() if "|" in line]
    assert ["sales", "orders__orders", "table", "hexmesh"] in rows
    assert ["lab", "every_type__values", "table", "hexmesh"] in rows
    assert ["sales", "hexmesh"] in rows  # \dn
    assert "dp://sales/orders@1/orders: Orders." in psql(sql, r"\dt+ sales.*")  # the port's address
    described = psql(sql, r"\d sales.orders__orders")
    assert "order_id   | bigint                   |           | not null |" in described
    assert "ordered_at | timestamp with time zone" in described


@needs_psql
def test_psql_lists_the_domains_as_schemas(sql: Port) -> None:
    listing = psql(sql, r"\dn")
    names = [line.split("|")[0].strip() for line in listing.splitlines()[3:] if "|" in line]
    # The product domains, and nothing of the engine (DuckDB's main, the catalog shims).
    assert names == ["lab", "sales"]
    every = psql(sql, r"\dnS")  # with system schemas, as PostgreSQL lists them
    assert "pg_catalog" in every and "information_schema" in every and "main" not in every


@needs_psql
def test_psql_queries_and_copies_to_a_file(sql: Port, tmp_path: Path) -> None:
    out = psql(sql, "select count(*) from sales.orders__orders")
    assert " 9" in out
    target = tmp_path / "orders.csv"
    psql(sql, rf"\copy (select order_id, customer from sales.orders__orders order by 1) to '{target}' csv header")
    lines = target.read_text().splitlines()
    assert lines[:2] == ["order_id,customer", "1,c1"]
    assert len(lines) == 10


def test_psycopg3_parameters_prepared_and_binary(sql: Port) -> None:
    with psycopg.connect(sql.dsn(), autocommit=True) as con:
        rows = con.execute(
            "select order_id, amount from sales.orders__orders where order_id > %s order by 1", [100], prepare=True
        ).fetchall()
        assert rows == [(101, 10.0), (102, 10.0), (103, 10.0)]
        cur = con.cursor(binary=True)
        one = cur.execute("select * from sales.orders__orders where order_id = %s", [1]).fetchone()
        assert one == (1, "c1", datetime(2026, 1, 1, 1, tzinfo=UTC), 10.0)
        assert con.execute("select pg_catalog.version()").fetchone()[0].startswith("PostgreSQL 15")  # type: ignore[index]


def test_psycopg2_in_a_transaction(sql: Port) -> None:
    con = psycopg2.connect(sql.dsn())
    try:
        cur = con.cursor()
        cur.execute("select customer, count(*) from sales.orders__orders group by customer order by 1")
        assert cur.fetchall()[0] == ("c1", 1)
        cur.execute("show transaction_isolation")
        assert cur.fetchone() == ("read committed",)
        con.commit()
    finally:
        con.close()


@pytest.mark.parametrize("driver", ["psycopg2", "psycopg"])
def test_sqlalchemy_inspector_and_pandas(sql: Port, driver: str) -> None:
    engine = sa.create_engine(sql.url(f"postgresql+{driver}"))
    try:
        inspector = sa.inspect(engine)
        assert "sales" in inspector.get_schema_names()
        assert inspector.get_table_names(schema="sales") == ["orders__orders"]
        columns = {c["name"]: c["type"] for c in inspector.get_columns("orders__orders", schema="sales")}
        assert isinstance(columns["order_id"], sa.BigInteger)
        assert inspector.has_table("orders__orders", schema="sales")
        assert not inspector.has_table("nothing", schema="sales")
        frame = pd.read_sql(
            "select customer, sum(amount) as total from sales.orders__orders group by 1 order by 1", engine
        )
        assert list(frame.columns) == ["customer", "total"]
        assert frame.total.sum() == 90.0
        table = pd.read_sql_table("orders__orders", engine, schema="sales")  # full reflection
        assert list(table.columns) == ["order_id", "customer", "ordered_at", "amount"]
        assert len(table) == 9
    finally:
        engine.dispose()


def test_asyncpg_named_statements_and_binary_results(sql: Port) -> None:
    async def run() -> tuple[object, object]:
        con = await asyncpg.connect(sql.url("postgresql"), ssl=False)
        try:
            row = await con.fetchrow("select * from sales.orders__orders where order_id = $1", 2)
            total = await con.fetchval("select count(*) from sales.orders__orders where amount > $1", 5.0)
            return row, total
        finally:
            await con.close()

    row, total = asyncio.run(run())
    assert row["customer"] == "c2"  # type: ignore[index]
    assert total == 9


JDBC_JAR = Path("/usr/share/java/postgresql.jar")
PROBE = Path(__file__).parent / "clients" / "JdbcProbe.java"


@pytest.mark.skipif(shutil.which("java") is None or not JDBC_JAR.exists(), reason="needs java and pgjdbc")
def test_pgjdbc_metadata_and_prepared_statement(sql: Port) -> None:
    url = f"jdbc:postgresql://127.0.0.1:{sql.port}/mesh?sslmode=disable"
    done = subprocess.run(
        ["java", "-cp", str(JDBC_JAR), str(PROBE), url], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("product PostgreSQL 15")
    assert "table sales.orders__orders" in lines
    columns = [line for line in lines if line.startswith("column ")]
    assert columns == [
        "column order_id int8",
        "column customer varchar",
        "column ordered_at timestamptz",
        "column amount float8",
    ]
    assert "row c3 10.0" in lines


@pytest.mark.skipif(shutil.which("isql") is None, reason="needs unixodbc and odbc-postgresql")
def test_psqlodbc_connects_and_queries(sql: Port) -> None:
    dsn = (
        f"Driver={{PostgreSQL Unicode}};Server=127.0.0.1;Port={sql.port};"
        "Database=mesh;Uid=analyst;Pwd=x;SSLmode=disable"
    )
    done = subprocess.run(
        ["isql", "-v", "-k", dsn, "-b", "-d,"],
        input="select customer, amount from sales.orders__orders where order_id = 4\nhelp\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "c4,10" in done.stdout
    assert "orders__orders" in done.stdout  # SQLTables


METADATA = Path(__file__).parent / "clients" / "JdbcMetadata.java"


#: The same table in a throwaway PostgreSQL database, as the port declares it.
def _jdbc_metadata(url: str, user: str, password: str) -> dict[str, list[str]]:
    done = subprocess.run(
        ["java", "-cp", str(JDBC_JAR), str(METADATA), url, user, password, "sales", "orders__orders"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answers: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        method = line.split("|", 1)[0].split("!", 1)[0]
        answers.setdefault(method, []).append(line)
    return answers


@pytest.mark.skipif(shutil.which("java") is None or not JDBC_JAR.exists(), reason="needs java and pgjdbc")
def test_pgjdbc_metadata_answers_as_postgresql_does(sql: Port, postgres_twin: str) -> None:
    port = _jdbc_metadata(f"jdbc:postgresql://127.0.0.1:{sql.port}/mesh?sslmode=disable", "analyst", "x")
    twin = _jdbc_metadata(f"jdbc:postgresql://127.0.0.1:5432/{postgres_twin}?sslmode=disable", "postgres", "")
    failed = [line for lines in port.values() for line in lines if "!" in line.split("|", 1)[0]]
    assert failed == [], failed  # every method answers (none raises)
    # Keys and indexes: DBeaver's navigator, DataGrip's introspection and Metabase's sync read these.
    for method in ("getPrimaryKeys", "getBestRowIdentifier", "getTables", "getSchemas"):
        assert port.get(method) == twin.get(method), method

    def index(lines: list[str]) -> list[list[str]]:  # without CARDINALITY and PAGES (statistics)
        return [c[:11] + c[13:] for c in (line.split("|") for line in lines)]

    assert index(port["getIndexInfo"]) == index(twin["getIndexInfo"])
    for method in ("getImportedKeys", "getExportedKeys", "getCrossReference"):
        assert port.get(method) is None and twin.get(method) is None, method

    # Columns: name, JDBC type, type name, nullability, position (sizes of unbounded types differ).
    def columns(lines: list[str]) -> list[list[str]]:
        return [[c[3], c[4], c[5], c[10], c[16]] for c in (line.split("|")[1:] for line in lines)]

    assert columns(port["getColumns"]) == columns(twin["getColumns"])
    # A query's columns are described as the catalog describes them (varchar, not text).
    assert port["getMetaData"] == twin["getMetaData"]
    described = [line.split("|")[1:4] for line in port["getMetaData"]]
    assert described == [c[3:6] for c in (line.split("|")[1:] for line in port["getColumns"])]
    port_types = {line.split("|")[1] for line in port["getTypeInfo"]}
    assert {"int8", "int4", "varchar", "text", "numeric", "timestamptz", "bool", "date"} <= port_types
    assert port["getMaxColumnsInIndex"] == twin["getMaxColumnsInIndex"]
    assert port["getUserName"] == ["getUserName|analyst"]


#: What BI tools and pgcli send on connect and for their navigators (issue 16), with PostgreSQL's answer
#: for a read-only database holding this table; None: any answer, as long as it is not an error.
BI_STATEMENTS: list[tuple[str, list[tuple[object, ...]] | None]] = [
    ("select current_user, session_user, user", [("analyst", "analyst", "analyst")]),
    ("select current_database(), current_catalog", [("mesh", "mesh")]),
    ("select pg_is_in_recovery()", [(False,)]),
    (
        "select c.relname from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = 'sales' and c.relkind = ANY('{r,p,f}') order by 1",
        [("orders__orders",)],
    ),
    ("select setting from pg_catalog.pg_settings where name = 'max_index_keys'", [("32",)]),
    ("select count(*) from pg_catalog.pg_stat_user_tables where relname = 'nothing'", [(0,)]),
    ("select count(*) from pg_catalog.pg_locks where pid = -1", [(0,)]),
    ("select count(*) from pg_catalog.pg_shdescription where objoid = 0", [(0,)]),
    ("select count(*) from pg_catalog.pg_stat_ssl where pid = -1", [(0,)]),
    ("select count(*) > 0 from pg_catalog.pg_timezone_names", [(True,)]),
    ("select t.typname from pg_catalog.pg_type t where t.oid = 1043", [("varchar",)]),
    (
        "select a.attname, t.typname from pg_catalog.pg_attribute a join pg_catalog.pg_type t on t.oid = a.atttypid "
        "where a.attrelid = 'sales.orders__orders'::regclass and a.attnum > 0 order by a.attnum",
        [("order_id", "int8"), ("customer", "varchar"), ("ordered_at", "timestamptz"), ("amount", "float8")],
    ),
    (
        "select i.indisprimary, c.relname from pg_catalog.pg_index i "
        "join pg_catalog.pg_class c on c.oid = i.indexrelid where i.indrelid = 'sales.orders__orders'::regclass",
        [(True, "orders__orders_pkey")],
    ),
    (
        "select conname, contype from pg_catalog.pg_constraint where conrelid = 'sales.orders__orders'::regclass "
        "and contype = 'p'",
        [("orders__orders_pkey", "p")],
    ),
    ("show transaction isolation level", [("read committed",)]),
]


@pytest.mark.parametrize(("statement", "expected"), BI_STATEMENTS)
def test_what_bi_tools_send_answers_as_postgresql_does(
    sql: Port, postgres_twin: str, statement: str, expected: list[tuple[object, ...]] | None
) -> None:
    with psycopg.connect(sql.dsn(), autocommit=True) as con:
        got = con.execute(statement).fetchall()
    twin_dsn = f"host=127.0.0.1 user=analyst_twin dbname={postgres_twin}"
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={postgres_twin}", autocommit=True) as admin:
        admin.execute("do $$ begin create role analyst login; exception when duplicate_object then null; end $$")
        admin.execute("grant usage on schema sales to analyst; grant select on all tables in schema sales to analyst")
    with psycopg.connect(twin_dsn.replace("analyst_twin", "analyst"), autocommit=True) as twin:
        want = twin.execute(statement.replace("'mesh'", f"'{postgres_twin}'")).fetchall()
    if statement.startswith("select current_database"):
        want = [("mesh", "mesh")]  # the database name each was given
    assert got == want
    if expected is not None:
        assert got == expected


def test_session_settings_are_per_session(sql: Port) -> None:
    with psycopg.connect(sql.dsn(), autocommit=True) as one, psycopg.connect(sql.dsn(), autocommit=True) as two:
        one.execute("SET TIME ZONE 'Europe/Berlin'")
        assert one.execute("show timezone").fetchone() == ("Europe/Berlin",)
        assert two.execute("show timezone").fetchone() == ("UTC",)
        one.execute("SET TIME ZONE LOCAL")
        two.execute("set search_path to sales")
        assert two.execute("select current_schema()").fetchone() == ("sales",)
        assert one.execute("select current_schema()").fetchone() != ("sales",)


#: Results as PostgreSQL shapes them: names, numeric scale, integer arithmetic (compared as text, as psql shows them).
SHAPES = [
    'select round(avg(amount)::numeric, 2), 1 AS FOO, 2 AS "Bar", 7 / 2, 7.0 / 2 = 3.5 from sales.orders__orders',
    "select count(*), max(order_id), case when count(*) > 1 then 'many' end from sales.orders__orders",
    "select order_id::text, customer from sales.orders__orders order by order_id limit 2",
]


@pytest.mark.parametrize("statement", SHAPES)
def test_result_names_and_values_are_shaped_as_postgresql_shapes_them(
    sql: Port, postgres_twin: str, statement: str
) -> None:
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={postgres_twin}", autocommit=True) as twin:
        twin.execute(
            "insert into sales.orders__orders select n, 'c' || (n % 7), now(), 10.0 "
            "from (values (1), (2), (3), (4), (5), (100), (101), (102), (103)) v(n)"
        )
        want = twin.execute(statement)
        want_names = [c.name for c in want.description or []]
        want_rows = [tuple(str(v) for v in row) for row in want.fetchall()]
    with psycopg.connect(sql.dsn(), autocommit=True) as con:
        got = con.execute(statement)
        assert [c.name for c in got.description or []] == want_names
        assert [tuple(str(v) for v in row) for row in got.fetchall()] == want_rows
    with psycopg.connect(sql.dsn(), autocommit=True) as con, pytest.raises(psycopg.errors.DivisionByZero):
        con.execute("select 1 / 0")


@pytest.mark.parametrize("zone", ["'Europe/Berlin'", "'America/New_York'", "'Asia/Kolkata'", "-7", "'UTC'"])
def test_instants_are_shown_in_the_session_time_zone_as_postgresql_shows_them(
    sql: Port, postgres_twin: str, zone: str
) -> None:
    statement = (
        "select ordered_at from sales.orders__orders where order_id = 1 union all "
        "select '2026-07-01 10:00:30+00'::timestamptz"
    )
    with psycopg.connect(sql.dsn(), autocommit=True) as port:
        port.execute(f"SET TIME ZONE {zone}")
        shown = [row[0].isoformat() for row in port.execute(statement).fetchall()]
        first = port.execute("select ordered_at from sales.orders__orders where order_id = 1").fetchone()
        setting = (
            port.execute("show timezone").fetchone(),
            port.execute("select current_setting('TimeZone')").fetchone(),
        )
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={postgres_twin}", autocommit=True) as twin:
        assert first is not None
        twin.execute("insert into sales.orders__orders (order_id, ordered_at) values (1, %s)", [first[0]])
        twin.execute(f"SET TIME ZONE {zone}")
        want = [row[0].isoformat() for row in twin.execute(statement).fetchall()]
        twin_setting = (
            twin.execute("show timezone").fetchone(),
            twin.execute("select current_setting('TimeZone')").fetchone(),
        )
    assert shown == want  # the same instants, with the same local times and offsets
    assert setting == twin_setting


def test_an_unknown_time_zone_is_refused_as_postgresql_refuses_it(sql: Port) -> None:
    with psycopg.connect(sql.dsn(), autocommit=True) as port:
        with pytest.raises(psycopg.errors.InvalidParameterValue, match='invalid value for parameter "TimeZone"'):
            port.execute("SET TIME ZONE 'Mars/Olympus_Mons'")
        assert port.execute("show timezone").fetchone() == ("UTC",)
