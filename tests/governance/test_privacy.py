"""Differential privacy: the five aggregates, the ε ledger (memory and state store), and refusals."""

from __future__ import annotations

import pyarrow as pa
import pytest
from sqlalchemy import Engine

from hexmesh.governance import (
    AccessDeniedError,
    BudgetExhaustedError,
    DpQuery,
    MemoryLedger,
    PolicyDecider,
    PolicyError,
    plan_read,
    private_aggregate,
)
from hexmesh.product.policy.ledger import StateLedger
from tests.governance.conftest import SELLER_EU, STATISTICIAN, STRANGER, STUDENT, rows

BIG = 1000.0  # a huge ε makes the noise tiny, so values can be checked without flakiness


@pytest.fixture
def big() -> pa.Table:
    return rows(3000)


def test_aggregates_are_close_with_large_epsilon(decider: PolicyDecider, big: pa.Table) -> None:
    plan = plan_read(decider, STATISTICIAN, "daily")
    assert plan.variant == "aggregate"
    ledger = MemoryLedger(limit=10 * BIG)
    minutes = big.column("minutes").to_pylist()
    count = private_aggregate(big, plan, DpQuery("count", BIG), ledger)
    assert abs(count.value - 3000) <= 5 and count.epsilon == pytest.approx(BIG)
    total = private_aggregate(big, plan, DpQuery("sum", BIG, "minutes", (0, 100)), ledger)
    assert total.value == pytest.approx(sum(minutes), abs=50)
    mean = private_aggregate(big, plan, DpQuery("mean", BIG, "minutes", (0, 100)), ledger)
    assert mean.value == pytest.approx(sum(minutes) / 3000, abs=0.5)
    median = private_aggregate(big, plan, DpQuery("quantile", BIG, "minutes", (0, 100), quantile=0.5), ledger)
    assert 40 <= median.value <= 50
    hist = private_aggregate(big, plan, DpQuery("histogram", BIG, "region", categories=["EU", "NA"]), ledger)
    assert set(hist.value) == {"EU", "NA", "__other__"} and abs(hist.value["__other__"] - 1000) <= 5


def test_spent_budget_is_a_clear_error_and_releases_nothing(decider: PolicyDecider, big: pa.Table) -> None:
    plan = plan_read(decider, STATISTICIAN, "daily")
    ledger = MemoryLedger(limit=1.0)
    private_aggregate(big, plan, DpQuery("count", 0.6), ledger)
    with pytest.raises(
        BudgetExhaustedError, match="budget of User:stan on podcasts/listens/daily is spent.*0.4 is left"
    ):
        private_aggregate(big, plan, DpQuery("count", 0.6), ledger)
    assert ledger.remaining("User:stan", plan.decision.address) == pytest.approx(0.4)


def test_the_state_ledger_persists_and_limits(db: Engine) -> None:
    ledger = StateLedger(db, default_limit=1.0)
    assert ledger.charge("User:a", "p", 0.75) == pytest.approx(0.25)
    again = StateLedger(db, default_limit=1.0)
    with pytest.raises(BudgetExhaustedError, match="spent"):
        again.charge("User:a", "p", 0.5)
    again.set_limit("User:a", "p", 2.0)
    assert again.charge("User:a", "p", 0.5) == pytest.approx(0.75)
    assert again.remaining("User:b", "p") == 1.0


def test_refusals(decider: PolicyDecider, big: pa.Table) -> None:
    ledger = MemoryLedger()
    with pytest.raises(AccessDeniedError):
        private_aggregate(big, plan_read(decider, STRANGER, "daily"), DpQuery("count", 0.1), ledger)
    with pytest.raises(AccessDeniedError, match="may not aggregate"):
        private_aggregate(big, plan_read(decider, STUDENT, "daily"), DpQuery("count", 0.1), ledger)
    plan = plan_read(decider, STATISTICIAN, "daily")
    with pytest.raises(PolicyError, match="public bounds"):
        private_aggregate(big, plan, DpQuery("sum", 0.1, "minutes"), ledger)
    with pytest.raises(PolicyError, match="public categories"):
        private_aggregate(big, plan, DpQuery("histogram", 0.1, "region"), ledger)
    with pytest.raises(PolicyError, match="positive"):
        private_aggregate(big, plan, DpQuery("count", 0), ledger)
    assert ledger.spent == {}


def test_row_filter_applies_before_aggregating(decider: PolicyDecider, big: pa.Table) -> None:
    plan = plan_read(decider, SELLER_EU, "daily")
    count = private_aggregate(big, plan, DpQuery("count", BIG), MemoryLedger(limit=BIG))
    assert abs(count.value - 1000) <= 5


def test_a_mean_is_refused_whole_when_the_budget_covers_only_half(decider: PolicyDecider, big: pa.Table) -> None:
    plan = plan_read(decider, STATISTICIAN, "daily")
    ledger = MemoryLedger(limit=1.0)
    with pytest.raises(BudgetExhaustedError):
        private_aggregate(big, plan, DpQuery("mean", 1.5, "minutes", (0, 100)), ledger)
    assert ledger.spent == {}
