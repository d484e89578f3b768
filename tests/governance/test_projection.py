"""The SQL form of a read plan gives DuckDB exactly the rows and values the Arrow path gives."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pyarrow as pa
import pytest
from duckdb.func import ARROW
from duckdb.sqltypes import VARCHAR

from hexmesh.governance import (
    PolicyDecider,
    PolicyError,
    apply_plan,
    plan_read,
    pseudonymize_udf,
    sql_projection,
    tokenize_udf,
)
from hexmesh.governance.projection import PSEUDONYMIZE_UDF, TOKENIZE_UDF
from tests.governance.conftest import ANALYST, OWNER, SECRET, SELLER_EU, SELLER_NOWHERE, STATISTICIAN, make_spec


@pytest.fixture
def con(table: pa.Table) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.create_function(PSEUDONYMIZE_UDF, pseudonymize_udf(SECRET), [VARCHAR, VARCHAR], VARCHAR, type=ARROW)
    connection.create_function(TOKENIZE_UDF, tokenize_udf(SECRET), [VARCHAR, VARCHAR], VARCHAR, type=ARROW)
    connection.register("daily", table)
    yield connection
    connection.close()


@pytest.mark.parametrize("principal", [OWNER, ANALYST, SELLER_EU, SELLER_NOWHERE], ids=lambda p: p.id)
def test_sql_and_arrow_agree(
    decider: PolicyDecider, table: pa.Table, con: duckdb.DuckDBPyConnection, principal: object
) -> None:
    plan = plan_read(decider, principal, "daily", purpose="reporting")  # type: ignore[arg-type]
    expected = apply_plan(table, plan, SECRET)
    projection = sql_projection(plan, table.schema)
    got = con.execute(projection.query('"daily"')).fetchall()
    assert [tuple(r.values()) for r in expected.to_pylist()] == got
    assert [d[0] for d in con.description or []] == expected.column_names


def test_user_queries_only_see_the_masked_view(
    decider: PolicyDecider, table: pa.Table, con: duckdb.DuckDBPyConnection
) -> None:
    plan = plan_read(decider, ANALYST, "daily", purpose="reporting")
    view = sql_projection(plan, table.schema).query('"daily"')
    with pytest.raises(duckdb.BinderException) as caught:
        con.execute(f"with daily as ({view}) select max(email) from daily")
    assert "@" not in str(caught.value)
    ages = con.execute(f"with daily as ({view}) select distinct age from daily order by age").fetchall()
    assert all("-" in a for (a,) in ages)


def test_no_sql_for_aggregate_plans_or_unsupported_generalizations(decider: PolicyDecider, table: pa.Table) -> None:
    with pytest.raises(PolicyError, match="may not read rows"):
        sql_projection(plan_read(decider, STATISTICIAN, "daily"), table.schema)
    spec = make_spec(
        access=[{"allow": {"group": "analytics"}}], privacy=[{"field": "minutes", "generalize": {"bands": 2.5}}]
    )
    with pytest.raises(PolicyError, match="fractional bands"):
        sql_projection(plan_read(PolicyDecider(spec), ANALYST, "daily"), table.schema)


def test_small_groups_are_left_out_on_both_paths(table: pa.Table, con: duckdb.DuckDBPyConnection) -> None:
    spec = make_spec(
        access=[{"allow": {"group": "analytics"}, "columns": {"exclude": ["minutes"]}}],
        privacy=[{"field": "minutes", "for": {"group": "analytics"}, "minimumGroupSize": 10}],
    )
    plan = plan_read(PolicyDecider(spec), ANALYST, "daily")
    assert plan.min_group == {"minutes": 10} and "minutes" in plan.hidden
    arrow = apply_plan(table, plan, SECRET)
    assert arrow.num_rows == sum(m >= 10 for m in table.column("minutes").to_pylist())
    got = con.execute(sql_projection(plan, table.schema).query('"daily"')).fetchall()
    assert got == [tuple(r.values()) for r in arrow.to_pylist()]
    assert apply_plan(table, plan_read(PolicyDecider(spec), OWNER, "daily"), SECRET).num_rows == table.num_rows
