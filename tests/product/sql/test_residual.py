"""A row filter is left out where every row of the snapshot read passes it, and reads nothing where none does.

The rows a principal receives are always exactly those the filter keeps: the verdict belongs to
one snapshot, so a later snapshot with rows the filter drops is filtered again (ADR 0044).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import duckdb
import psycopg
import pyarrow as pa
import pytest

from hexmesh.infra.state import from_us
from hexmesh.lifecycle import Workspace
from hexmesh.product.sql import PolicyDecision, QueryRequest, TableRewrite
from hexmesh.product.sql.residual import DISTINCT_LIMIT, Residuals, filter_columns
from tests.product.sql.conftest import Loop, Port, serve

SCHEMA = pa.schema(
    [("order_id", pa.int64()), ("customer", pa.string()), ("ordered_at", pa.timestamp("us", "UTC")), ("ok", pa.bool_())]
)
#: The orders mesh: ids 1-5 in the first snapshot, 100-103 added by the second; customers c0-c6.
FILTERS = {
    "below100": "order_id < 100",  # every row of the first snapshot, some of the second
    "nobody": "customer IN ('nobody')",  # no row of any snapshot
    "known": "customer <> 'zz'",  # every row of every snapshot
    "c1": "(\"customer\" IN ('c1'))",  # some rows, as hexmesh's own row filters are written
}


class Filtering:
    """Each user reads sales.orders through the row filter named after them."""

    def decide(self, request: QueryRequest) -> PolicyDecision:
        rewrite = TableRewrite(transform={"amount": "amount * 0"}, row_filter=FILTERS[request.user])
        return PolicyDecision(rewrites={a.table.qualified: rewrite for a in request.tables})


@pytest.fixture
def filtered(mesh: Workspace, loop: Loop) -> Iterator[Port]:
    port = serve(mesh, loop, policy=Filtering())
    yield port
    loop.run(port.server.close())


def ids(port: Port, user: str, suffix: str = "") -> list[int]:
    with psycopg.connect(port.dsn(user=user), autocommit=True) as con:
        return [r[0] for r in con.execute(f"select order_id from sales.orders__orders{suffix} order by 1").fetchall()]


def plan(port: Port, user: str, suffix: str = "") -> str:
    with psycopg.connect(port.dsn(user=user), autocommit=True) as con:
        rows = con.execute(f"explain select order_id from sales.orders__orders{suffix}").fetchall()
        return "\n".join(str(r[0]) for r in rows)


def test_the_rows_are_exactly_those_the_filter_keeps_whatever_the_verdict(filtered: Port) -> None:
    everyone = [1, 2, 3, 4, 5, 100, 101, 102, 103]
    assert ids(filtered, "known") == everyone
    assert ids(filtered, "nobody") == []
    assert ids(filtered, "c1") == [n for n in everyone if n % 7 == 1]
    assert ids(filtered, "below100") == [1, 2, 3, 4, 5]


def test_a_verdict_belongs_to_one_snapshot(filtered: Port) -> None:
    first = f" for system_time as of '{from_us(filtered.publications[0].published_us).isoformat()}'"
    # In the first snapshot every row passes: the filter is left out; the second needs it again.
    assert ids(filtered, "below100", first) == [1, 2, 3, 4, 5]
    assert "Filters: order_id < 100" not in plan(filtered, "below100", first)
    assert ids(filtered, "below100") == [1, 2, 3, 4, 5]
    assert "Filters: order_id < 100" in plan(filtered, "below100")


def test_the_plans_show_what_is_left_of_the_filter(filtered: Port) -> None:
    assert "Filters:" not in plan(filtered, "known")
    assert "Filters: customer = 'c1'" in plan(filtered, "c1")


@pytest.mark.parametrize(
    ("row_filter", "columns"),
    [
        ("order_id < 100", ("order_id",)),
        ("(\"customer\" IN ('c1', 'c2')) OR (ok AND order_id BETWEEN -1 AND 9)", ("customer", "ok", "order_id")),
        ("customer IS NOT NULL AND customer NOT LIKE 'x%'", ("customer",)),
        ("FALSE", ()),
    ],
)
def test_filters_of_comparisons_over_plain_columns_are_judged(row_filter: str, columns: tuple[str, ...]) -> None:
    assert filter_columns(row_filter, SCHEMA) == columns


@pytest.mark.parametrize(
    "row_filter",
    [
        "random() < 0.5",  # a function may answer differently row by row
        "lower(customer) = 'c1'",
        "order_id::varchar = '1'",
        "ordered_at > '2026-01-01'",  # the literal is read in the session's time zone
        "o.order_id < 100",
        "order_id IN (SELECT 1)",
        "nosuch = 1",
        "order_id <",
    ],
)
def test_other_filters_stay_as_written(row_filter: str) -> None:
    assert filter_columns(row_filter, SCHEMA) is None


def scanner(table: pa.Table) -> tuple[list[str], Callable[[str], pa.Table]]:
    seen: list[str] = []

    def scan(sql: str) -> pa.Table:
        seen.append(sql)
        with duckdb.connect(":memory:") as con:
            con.register("rows", table)
            return con.sql(sql.replace("{source}", "rows")).to_arrow_table()

    return seen, scan


def test_many_distinct_values_give_no_verdict_and_are_never_collected() -> None:
    table = pa.table({"customer": [f"c{n}" for n in range(DISTINCT_LIMIT * 4)]})
    seen, scan = scanner(table)
    assert Residuals().verdict(("t", 1), "customer <> 'zz'", table.schema, scan) == "some"
    assert len(seen) == 1 and "approx_count_distinct" in seen[0]


def test_distinct_values_are_scanned_once_per_snapshot_and_columns() -> None:
    table = pa.table({"customer": ["a", "b", None, "a"]})
    seen, scan = scanner(table)
    residuals = Residuals()
    assert residuals.verdict(("t", 1), "customer <> 'zz'", table.schema, scan) == "some"  # NULL does not pass
    assert residuals.verdict(("t", 1), "customer IS NULL OR customer < 'c'", table.schema, scan) == "all"
    assert residuals.verdict(("t", 1), "customer = 'zz'", table.schema, scan) == "none"
    assert len(seen) == 2  # the estimate and the distinct values, once
    residuals.verdict(("t", 2), "customer = 'zz'", table.schema, scan)
    assert len(seen) == 4
