"""The catalog clients see: naming of ports and majors, information_schema, search_path."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from hexmesh.lifecycle import Workspace
from hexmesh.product.sql import start_sql_port
from tests.product.sql.conftest import Loop, Port, serve
from tests.support import orders_csv


def test_every_deployed_major_is_a_table(workspace: Workspace, orders: Path, loop: Loop) -> None:
    workspace.deploy([orders])
    workspace.run("sales/orders")
    spec = orders / "dataproduct.yaml"
    spec.write_text(spec.read_text().replace("version: 1.0.0", "version: 2.0.0"))
    workspace.deploy([orders])
    port = serve(workspace, loop)
    try:
        with psycopg.connect(port.dsn(), autocommit=True) as con:
            names = con.execute(
                "select table_name from information_schema.tables where table_schema = 'sales' order by 1"
            ).fetchall()
            assert names == [("orders__orders",), ("orders__orders_v1",)]
            assert con.execute("select count(*) from sales.orders__orders_v1").fetchone() == (5,)
            assert con.execute("select count(*) from sales.orders__orders").fetchone() == (0,)  # v2 never ran
    finally:
        loop.run(port.server.close())


def test_search_path_and_unique_names_resolve_unqualified_tables(sql: Port) -> None:
    with psycopg.connect(sql.dsn(), autocommit=True) as con:
        assert con.execute("select count(*) from orders__orders").fetchone() == (9,)
        con.execute("set search_path = lab")
        assert con.execute("select count(*) from every_type__values").fetchone() == (2,)


def test_a_product_deployed_while_serving_appears_in_the_next_connection(
    workspace: Workspace, orders: Path, loop: Loop
) -> None:
    port = Port(loop.run(start_sql_port(workspace, "127.0.0.1", 0)), loop.loop, [])
    try:
        with psycopg.connect(port.dsn(), autocommit=True) as before:
            tables = "select table_name from information_schema.tables where table_schema = 'sales'"
            assert before.execute(tables).fetchall() == []
            workspace.deploy([orders])
            workspace.run("sales/orders")
            with psycopg.connect(port.dsn(), autocommit=True) as after:
                assert after.execute(tables).fetchall() == [("orders__orders",)]
                assert after.execute("select count(*) from sales.orders__orders").fetchone() == (5,)
            # The older session keeps its catalog and keeps working.
            assert before.execute("select 1").fetchone() == (1,)
            with pytest.raises(psycopg.errors.UndefinedTable):
                before.execute("select count(*) from sales.orders__orders")
    finally:
        loop.run(port.server.close())


def test_catalog_views_hide_the_engine_shims(sql: Port) -> None:
    with psycopg.connect(sql.dsn(), autocommit=True) as con:
        schemas = {r[0] for r in con.execute("select schema_name from information_schema.schemata").fetchall()}
        namespaces = {r[0] for r in con.execute("select nspname from pg_catalog.pg_namespace").fetchall()}
    assert {"sales", "lab"} <= schemas
    assert "hexmesh_pg" not in schemas | namespaces


def test_explain_and_ctes_read_the_same_snapshot_tables(sql: Port) -> None:
    with psycopg.connect(sql.dsn(), autocommit=True) as con:
        plan = con.execute("explain select count(*) from sales.orders__orders").fetchall()
        assert plan
        query = "with orders__orders as (select 1 as x) select count(*) from orders__orders"
        assert con.execute(query).fetchone() == (1,)  # a CTE shadows the port table


def test_a_transaction_reads_one_snapshot_set_while_runs_publish(
    workspace: Workspace, orders: Path, loop: Loop
) -> None:
    workspace.deploy([orders])
    workspace.run("sales/orders")
    port = serve(workspace, loop)
    try:
        with psycopg.connect(port.dsn()) as con:  # psycopg opens a transaction implicitly
            assert con.execute("select count(*) from sales.orders__orders").fetchone() == (5,)
            (orders / "data" / "day2.csv").write_text(orders_csv(100, 4, day="2026-01-02"))
            workspace.run("sales/orders")
            assert con.execute("select count(*) from sales.orders__orders").fetchone() == (5,)
            con.commit()
            assert con.execute("select count(*) from sales.orders__orders").fetchone() == (9,)
    finally:
        loop.run(port.server.close())


def test_limit_across_data_files_is_exact(sql: Port) -> None:
    with psycopg.connect(sql.dsn(), autocommit=True) as con:
        # Two runs wrote two data files: a LIMIT across them returns exactly what it asks for.
        assert len(con.execute("select * from sales.orders__orders limit 7").fetchall()) == 7
        assert con.execute("select count(*) from (select * from sales.orders__orders limit 100) t").fetchone() == (9,)


def _retire_major_one(workspace: Workspace, orders: Path, *, retention: str) -> None:
    spec = orders / "dataproduct.yaml"
    text = spec.read_text().replace("owner: sales@example.com", f"owner: sales@example.com\nretention: {retention}")
    spec.write_text(text)
    workspace.deploy([orders])
    workspace.run("sales/orders")
    spec.write_text(spec.read_text().replace("version: 1.0.0", "version: 2.0.0"))
    workspace.deploy([orders])


@pytest.mark.parametrize("retention", ["keep", "delete"])
def test_a_retired_major_disappears_from_the_catalog_and_from_queries(
    workspace: Workspace, orders: Path, loop: Loop, retention: str
) -> None:
    _retire_major_one(workspace, orders, retention=retention)
    port = serve(workspace, loop)
    try:
        with psycopg.connect(port.dsn(), autocommit=True) as before:
            assert before.execute("select count(*) from sales.orders__orders_v1").fetchone() == (5,)
            workspace.retire("sales/orders@1")
            # A session opened before the retirement stops serving it too: a plain "no such relation".
            with pytest.raises(psycopg.errors.UndefinedTable, match="orders__orders_v1") as caught:
                before.execute("select count(*) from sales.orders__orders_v1")
            assert "retired" in str(caught.value.diag.message_detail)
        # A freshly started port never lists nor serves it, whatever happened to its data.
        fresh = serve(workspace, loop)
        try:
            with psycopg.connect(fresh.dsn(), autocommit=True) as con:
                names = con.execute(
                    "select table_name from information_schema.tables where table_schema = 'sales' order by 1"
                ).fetchall()
                assert names == [("orders__orders",)]
                relations = con.execute(
                    "select relname from pg_catalog.pg_class where relname like 'orders%' and relkind = 'r'"
                )
                assert relations.fetchall() == [("orders__orders",)]
                with pytest.raises(psycopg.errors.UndefinedTable):
                    con.execute("select count(*) from sales.orders__orders_v1")
                assert con.execute("select count(*) from sales.orders__orders").fetchone() == (0,)  # major 2
        finally:
            loop.run(fresh.server.close())
    finally:
        loop.run(port.server.close())


def test_the_next_connection_sees_a_new_major_and_a_retired_one_on_a_port_that_read_the_catalog(
    workspace: Workspace, orders: Path, loop: Loop
) -> None:
    # The catalog is kept between connections and read again only when the state store changed:
    # each change must reach the very next connection, however many connections came before it.
    _retire_major_one(workspace, orders, retention="keep")
    port = serve(workspace, loop)
    tables = "select table_name from information_schema.tables where table_schema = 'sales' order by 1"
    try:
        for _ in range(3):
            with psycopg.connect(port.dsn(), autocommit=True) as con:
                assert con.execute(tables).fetchall() == [("orders__orders",), ("orders__orders_v1",)]
        spec = orders / "dataproduct.yaml"
        spec.write_text(spec.read_text().replace("version: 2.0.0", "version: 3.0.0"))
        workspace.deploy([orders])
        with psycopg.connect(port.dsn(), autocommit=True) as con:
            names = [("orders__orders",), ("orders__orders_v1",), ("orders__orders_v2",)]
            assert con.execute(tables).fetchall() == names
        workspace.retire("sales/orders@1")
        with psycopg.connect(port.dsn(), autocommit=True) as con:
            assert con.execute(tables).fetchall() == [("orders__orders",), ("orders__orders_v2",)]
            with pytest.raises(psycopg.errors.UndefinedTable):
                con.execute("select count(*) from sales.orders__orders_v1")
    finally:
        loop.run(port.server.close())
