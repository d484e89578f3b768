"""The policy hook: called for every statement, and its refusals and rewrites take effect."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from hexmesh.lifecycle import Workspace
from hexmesh.product.sql import PolicyDecision, QueryRequest, TableRewrite
from tests.product.sql.conftest import Loop, Port, serve


class Recording:
    """Refuses user "mallory", masks customers and hides amounts for "partner"."""

    def __init__(self) -> None:
        self.seen: list[QueryRequest] = []

    def decide(self, request: QueryRequest) -> PolicyDecision:
        self.seen.append(request)
        if request.user == "mallory":
            return PolicyDecision.refuse("mallory may not read anything")
        if request.user == "partner":
            rewrite = TableRewrite(
                hide=frozenset({"amount"}), transform={"customer": "'***'"}, row_filter="order_id < 100"
            )
            return PolicyDecision(rewrites={"sales.orders__orders": rewrite})
        return PolicyDecision.allow()


@pytest.fixture
def policed(mesh: Workspace, loop: Loop) -> Iterator[tuple[Port, Recording]]:
    policy = Recording()
    port = serve(mesh, loop, policy=policy)
    yield port, policy
    loop.run(port.server.close())


def test_every_statement_passes_the_policy(policed: tuple[Port, Recording]) -> None:
    port, policy = policed
    with psycopg.connect(port.dsn(), autocommit=True) as con:
        con.execute("select count(*) from sales.orders__orders").fetchall()
        con.execute("select * from sales.orders__orders where order_id = %s", [1], prepare=True).fetchall()
        con.execute("select relname from pg_catalog.pg_class").fetchall()
        with con.cursor().copy("copy (select * from sales.orders__orders) to stdout") as copy:
            assert b"c1" in b"".join(bytes(block) for block in copy)
        con.execute("set application_name = 'x'")
    sqls = [r.sql for r in policy.seen]
    assert any("pg_class" in s for s in sqls)
    assert any(s.startswith("select * from sales.orders__orders where") for s in sqls)
    assert any("copy" not in s and s.strip() == "select * from sales.orders__orders" for s in sqls)
    assert any(r.kind == "command" for r in policy.seen)
    reads = [r for r in policy.seen if r.tables]
    assert all(r.tables[0].table.qualified == "sales.orders__orders" for r in reads)


def test_a_refusal_is_permission_denied(policed: tuple[Port, Recording]) -> None:
    port, _ = policed
    with (
        psycopg.connect(port.dsn(user="mallory"), autocommit=True) as con,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="mallory may not"),
    ):
        con.execute("select 1")


def test_rewrites_hide_transform_and_filter(policed: tuple[Port, Recording]) -> None:
    port, _ = policed
    with psycopg.connect(port.dsn(user="partner"), autocommit=True) as con:
        rows = con.execute("select * from sales.orders__orders o order by o.order_id").fetchall()
        assert rows[0] == (1, "***", rows[0][2])
        assert len(rows) == 5
        with pytest.raises(psycopg.errors.UndefinedColumn):
            con.execute("select amount from sales.orders__orders")
        # The engine's name for the raw source is internal and not reachable around the policy.
        with pytest.raises(psycopg.errors.UndefinedTable):
            con.execute("select amount from sales.orders__orders, hexmesh_src_0")


def test_a_repeated_statement_is_decided_every_time_for_its_own_principal(policed: tuple[Port, Recording]) -> None:
    port, policy = policed
    query = "select customer, count(*) from sales.orders__orders group by 1 order by 1"
    with (
        psycopg.connect(port.dsn(), autocommit=True) as analyst,
        psycopg.connect(port.dsn(user="partner"), autocommit=True) as partner,
        psycopg.connect(port.dsn(user="mallory"), autocommit=True) as mallory,
    ):
        before = len(policy.seen)
        for _ in range(3):
            # The same text on three sessions: parsed once, but each run is decided and rewritten anew.
            assert len(analyst.execute(query).fetchall()) > 1
            assert partner.execute(query).fetchall() == [("***", 5)]
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="mallory may not"):
                mallory.execute(query)
        decided = [r.user for r in policy.seen[before:] if r.sql == query]
        assert sorted(decided) == sorted(["analyst", "partner", "mallory"] * 3)


def test_a_described_statement_shows_each_principal_its_own_columns(policed: tuple[Port, Recording]) -> None:
    port, _ = policed
    # Parameters make psycopg describe before it binds: the row description must follow the policy too.
    query = "select * from sales.orders__orders where order_id < %s order by order_id"
    with (
        psycopg.connect(port.dsn(), autocommit=True) as analyst,
        psycopg.connect(port.dsn(user="partner"), autocommit=True) as partner,
    ):
        for _ in range(2):
            seen = analyst.execute(query, [1000])
            assert seen.description is not None and "amount" in [c.name for c in seen.description]
            assert len(seen.fetchall()) == 9
            masked = partner.execute(query, [1000])
            assert masked.description is not None and "amount" not in [c.name for c in masked.description]
            assert [row[1] for row in masked.fetchall()] == ["***"] * 5
