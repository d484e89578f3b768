"""A real SQL port over a real workspace: the orders product, run twice, served on port 0."""

from __future__ import annotations

import asyncio
import textwrap
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from hexmesh.infra.state import Publication
from hexmesh.lifecycle import Workspace
from hexmesh.pgwire import PgServer
from hexmesh.product.sql import QueryPolicy, SqlPortConfig, start_sql_port
from tests.stacks import Stack
from tests.support import ORDERS_SPEC, ORDERS_SQL, orders_csv


@dataclass
class Port:
    """A running SQL port and what tests need to reach it."""

    server: PgServer
    loop: asyncio.AbstractEventLoop
    publications: list[Publication]

    @property
    def port(self) -> int:
        return self.server.port

    def dsn(self, user: str = "analyst", **extra: str) -> str:
        parts = {"host": "127.0.0.1", "port": str(self.port), "user": user, "dbname": "mesh", "sslmode": "disable"}
        parts.update(extra)
        return " ".join(f"{k}={v}" for k, v in parts.items())

    def url(self, scheme: str, user: str = "analyst") -> str:
        return f"{scheme}://{user}@127.0.0.1:{self.port}/mesh"


class Loop:
    """An event loop in a daemon thread, as `hexmesh serve` runs one."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


TYPES_SPEC = """
domain: lab
name: every-type
version: 1.0.0
owner: lab@example.com
description: One row of every logical type.
inputPorts:
  - name: raw
    source: {format: csv, path: data}
transformation:
  sql: transform.sql
outputPorts:
  - name: values
    mode: replace
    properties:
      - {name: i, logicalType: integer, required: true}
      - {name: s, logicalType: string, logicalTypeOptions: {maxLength: 20}}
      - {name: n, logicalType: number}
      - {name: d, logicalType: decimal, precision: 10, scale: 2}
      - {name: b, logicalType: boolean}
      - {name: day, logicalType: date}
      - {name: ts, logicalType: timestamp}
      - {name: t, logicalType: time}
      - {name: bin, logicalType: binary}
"""
TYPES_SQL = """
select cast(id as bigint) as i, 'héllo, "world"' as s, 1.5::double as n, 12.34::decimal(10, 2) as d,
       true as b, date '2026-01-02' as day, timestamptz '2026-01-02 03:04:05.123456+00' as ts,
       time '01:02:03.5' as t, '\\xAB\\x00'::blob as bin
from raw
union all
select 2, null, null, null, null, null, null, null, null from raw
"""


def write_product(folder: Path, spec: str, sql: str, data: str) -> Path:
    (folder / "data").mkdir(parents=True)
    (folder / "dataproduct.yaml").write_text(textwrap.dedent(spec).lstrip(), encoding="utf-8")
    (folder / "transform.sql").write_text(sql, encoding="utf-8")
    (folder / "data" / "day1.csv").write_text(data, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def mesh(tmp_path_factory: pytest.TempPathFactory, stack: Stack) -> Iterator[Workspace]:
    """A workspace with sales/orders deployed and run twice (5 rows, then 4 more), on each stack."""
    root = tmp_path_factory.mktemp("sqlport")
    folder = write_product(root / "orders", ORDERS_SPEC, ORDERS_SQL, orders_csv(1, 5))
    types = write_product(root / "types", TYPES_SPEC, TYPES_SQL, "id\n1\n")
    workspace = Workspace(stack.settings(Path(root) / "ws"))
    workspace.deploy([folder, types])
    workspace.run("sales/orders")
    workspace.run("lab/every-type")
    (folder / "data" / "day2.csv").write_text(orders_csv(100, 4, day="2026-01-02"), encoding="utf-8")
    workspace.run("sales/orders")
    yield workspace
    workspace.close()


@pytest.fixture(scope="session")
def loop() -> Iterator[Loop]:
    running = Loop()
    yield running
    running.stop()


def serve(mesh: Workspace, loop: Loop, config: SqlPortConfig | None = None, policy: QueryPolicy | None = None) -> Port:
    server = loop.run(start_sql_port(mesh, "127.0.0.1", 0, config=config, policy=policy))
    publications = mesh.reader("dp://sales/orders/orders").publications()
    return Port(server, loop.loop, publications)


@pytest.fixture(scope="session")
def sql(mesh: Workspace, loop: Loop) -> Iterator[Port]:
    """The SQL port with default settings, shared by the session."""
    port = serve(mesh, loop)
    yield port
    loop.run(port.server.close())


ORDERS_DDL = (
    "create schema sales; create table sales.orders__orders (order_id bigint primary key, customer varchar, "
    "ordered_at timestamp with time zone not null, amount double precision)"
)


@pytest.fixture
def postgres_twin() -> Iterator[str]:
    """A throwaway database on the local PostgreSQL with the port's table and primary key."""
    name = f"hexmesh_twin_{uuid.uuid4().hex[:8]}"
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as admin:
        admin.execute(f"create database {name}")
    try:
        with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={name}", autocommit=True) as con:
            con.execute(ORDERS_DDL)
        yield name
    finally:
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as admin:
            admin.execute(f"drop database {name} with (force)")
