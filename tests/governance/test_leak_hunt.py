"""Leak hunt at the library level: a principal without column X (or outside a row filter) learns nothing
about it through any path the policy plane offers — rows, schema, transformations, DP, synthetic, errors."""

from __future__ import annotations

import pyarrow as pa
import pytest

from hexmesh.governance import (
    AccessDeniedError,
    DpQuery,
    GovernanceError,
    MemoryLedger,
    PolicyDecider,
    Principal,
    apply_plan,
    fit,
    plan_read,
    plan_schema,
    private_aggregate,
    synthetic_rows,
)
from tests.governance.conftest import ANALYST, SECRET, SELLER_EU, STATISTICIAN, STRANGER, STUDENT, make_spec


def _cells(table: pa.Table) -> list[str]:
    return [str(v) for column in table.columns for v in column.to_pylist()]


def _secrets(table: pa.Table) -> set[str]:
    emails = set(table.column("email").to_pylist())
    return emails | {e.split("@")[0] for e in emails}


def test_hidden_column_is_absent_from_rows_and_schema(decider: PolicyDecider, table: pa.Table) -> None:
    plan = plan_read(decider, ANALYST, "daily", purpose="reporting")
    assert "email" in plan.hidden
    # The email-token privacy rule applies to everyone, yet it must not bring the column back.
    assert "email" not in plan.columns
    out = apply_plan(table, plan, SECRET)
    assert "email" not in out.column_names and "email" not in plan_schema(table.schema, plan).names
    cells = " ".join(_cells(out))
    assert not any(secret in cells for secret in _secrets(table))
    assert "example.com" not in cells


def test_transformed_columns_carry_no_cleartext(decider: PolicyDecider, table: pa.Table) -> None:
    out = apply_plan(table, plan_read(decider, SELLER_EU, "daily"), SECRET)
    cells = _cells(out)
    assert all(c.startswith("t_") for c in out.column("email").to_pylist())
    assert all(c.startswith("p_") for c in out.column("user_id").to_pylist())
    assert not set(cells) & (_secrets(table) | set(table.column("user_id").to_pylist()))


def test_rows_outside_the_filter_never_appear(decider: PolicyDecider, table: pa.Table) -> None:
    out = apply_plan(table, plan_read(decider, SELLER_EU, "daily"), SECRET)
    assert set(out.column("region").to_pylist()) == {"EU"}
    assert out.num_rows == sum(r == "EU" for r in table.column("region").to_pylist())


def test_dp_refuses_hidden_and_transformed_columns_without_echoing_values(table: pa.Table) -> None:
    spec = make_spec(
        access=[
            {
                "id": "agg",
                "allow": {"user": "eve"},
                "actions": ["readAggregate"],
                "columns": {"exclude": ["email", "age"]},
            }
        ],
        privacy=[{"field": "postcode", "generalize": {"prefix": 1}}],
    )
    plan = plan_read(PolicyDecider(spec), STRANGER, "daily")
    assert plan.variant == "aggregate" and "age" in plan.hidden
    ledger = MemoryLedger()
    for query in (
        DpQuery("quantile", 0.1, "age", (0, 100)),
        DpQuery("sum", 0.1, "age", (0, 100)),
        DpQuery("histogram", 0.1, "email", categories=["user1@example.com"]),
        DpQuery("histogram", 0.1, "postcode", categories=["1"]),
    ):
        with pytest.raises(AccessDeniedError) as caught:
            private_aggregate(table, plan, query, ledger)
        assert not any(s in str(caught.value) for s in _secrets(table) | {"18", "25"})
    assert ledger.spent == {}


def test_aggregate_principals_get_no_rows(decider: PolicyDecider, table: pa.Table) -> None:
    with pytest.raises(AccessDeniedError):
        apply_plan(table, plan_read(decider, STATISTICIAN, "daily"), SECRET)


def test_synthetic_variant_shows_only_allowed_columns(decider: PolicyDecider, table: pa.Table) -> None:
    plan = plan_read(decider, STUDENT, "daily")
    out = synthetic_rows(fit(table), plan, 100, SECRET, seed=1)
    assert out.column_names == ["age", "region", "minutes"]
    assert not set(_cells(out)) & _secrets(table)


def test_synthetic_model_of_all_rows_is_refused_to_filtered_principals(decider: PolicyDecider, table: pa.Table) -> None:
    plan = plan_read(decider, SELLER_EU, "daily")
    with pytest.raises(AccessDeniedError, match="fitted on rows all"):
        synthetic_rows(fit(table), plan, 10, SECRET)
    assert plan.row_filter is not None
    scoped = fit(plan.row_filter.apply(table), scope=plan.row_filter.sql())
    assert set(synthetic_rows(scoped, plan, 200, SECRET, seed=2).column("region").to_pylist()) == {"EU"}


def test_denials_do_not_reveal_data_or_other_policies(decider: PolicyDecider, table: pa.Table) -> None:
    plan = plan_read(decider, STRANGER, "daily")
    assert plan.columns == {} and plan.row_filter is None
    with pytest.raises(GovernanceError) as caught:
        apply_plan(table, plan, SECRET)
    message = str(caught.value)
    assert "analysts" not in message and "@" not in message


def test_a_missing_attribute_never_widens_access(decider: PolicyDecider, table: pa.Table) -> None:
    nowhere = Principal("x", groups=frozenset({"sales"}), attributes={"regio": "EU"})
    assert apply_plan(table, plan_read(decider, nowhere, "daily"), SECRET).num_rows == 0
