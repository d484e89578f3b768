"""Differentially private aggregates (OpenDP) for principals granted only aggregate access.

Every query is a fresh OpenDP measurement calibrated to the requested ε; the ε that OpenDP's
own privacy map reports is charged to the principal's per-port budget *before* the release, so
an interrupted query still counts and a spent budget releases nothing. Raw rows never leave.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hexmesh.governance.exceptions import AccessDeniedError, BudgetExhaustedError, PolicyError
from hexmesh.governance.read_plan import ReadPlan

__all__ = ["BudgetLedger", "DpQuery", "DpResult", "MemoryLedger", "private_aggregate"]

Kind = Literal["count", "sum", "mean", "quantile", "histogram"]


class BudgetLedger(Protocol):
    """Where spent ε is kept, per principal and port; ``charge`` is atomic and refuses overdrafts."""

    def charge(self, principal: str, port: str, epsilon: float) -> float:
        """Spend ``epsilon``; return what is left, or raise BudgetExhaustedError and spend nothing."""
        ...

    def remaining(self, principal: str, port: str) -> float: ...


class MemoryLedger:
    """An in-process ledger (tests, notebooks); the state store has the persistent one."""

    def __init__(self, limit: float = 1.0) -> None:
        self.limit = limit
        self.spent: dict[tuple[str, str], float] = {}

    def charge(self, principal: str, port: str, epsilon: float) -> float:
        left = self.remaining(principal, port)
        if epsilon > left + 1e-9:
            raise BudgetExhaustedError(exhausted_message(principal, port, epsilon, left))
        self.spent[(principal, port)] = self.spent.get((principal, port), 0.0) + epsilon
        return self.remaining(principal, port)

    def remaining(self, principal: str, port: str) -> float:
        return max(0.0, self.limit - self.spent.get((principal, port), 0.0))


def exhausted_message(principal: str, port: str, epsilon: float, left: float) -> str:
    return (
        f"the privacy budget of {principal} on {port} is spent: this query needs ε={epsilon:.4g}, "
        f"{left:.4g} is left. Ask the owner for more budget, or use the synthetic variant"
    )


@dataclass(frozen=True)
class DpQuery:
    """One aggregate: ``column`` (not for count), ε, and bounds/categories/quantile where needed."""

    kind: Kind
    epsilon: float
    column: str | None = None
    bounds: tuple[float, float] | None = None
    """Public clamping bounds for sum, mean and quantile (never taken from the data)."""
    quantile: float = 0.5
    categories: Sequence[str] = ()
    """Public categories for a histogram; other values are counted together as ``__other__``."""


@dataclass(frozen=True)
class DpResult:
    value: Any
    epsilon: float
    remaining: float


def _dp() -> Any:
    import opendp.prelude as dp

    dp.enable_features("contrib")
    return dp


def _calibrated(build: Callable[[float], Any], epsilon: float) -> Any:
    """The measurement built with the noise scale whose privacy map gives ``epsilon`` for one row changed."""
    probe = build(1.0)
    # ε is inversely proportional to the noise scale for the Laplace and Gumbel mechanisms.
    measurement = build(float(probe.map(1)) / epsilon)
    return measurement


def _floats(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    values: np.ndarray = np.asarray(
        pc.drop_null(pc.cast(column, pa.float64())).to_numpy(zero_copy_only=False), dtype=float
    )
    present: np.ndarray = values[~np.isnan(values)]
    return present


def _bucket_counts(column: pa.ChunkedArray, categories: list[str]) -> list[int]:
    """Exact counts per public category, then everything else (nulls included) as one bucket."""
    text = pc.cast(column, pa.string())
    index = pc.index_in(text, value_set=pa.array(categories)).fill_null(len(categories))
    counts = np.bincount(index.to_numpy(zero_copy_only=False), minlength=len(categories) + 1)
    return [int(c) for c in counts]


def _measurement(query: DpQuery) -> tuple[Any, Callable[[pa.Table], Any]]:
    dp = _dp()
    symmetric = dp.symmetric_distance()
    floats = dp.vector_domain(dp.atom_domain(T=float, nan=False))
    if query.kind == "count":
        domain = dp.vector_domain(dp.atom_domain(T=bool))
        return (
            _calibrated(lambda s: dp.t.make_count(domain, symmetric) >> dp.m.then_laplace(s), query.epsilon),
            lambda t: np.ones(t.num_rows, dtype=bool),
        )
    if query.kind == "histogram":
        cats = [str(c) for c in query.categories]
        if not cats:
            raise PolicyError("a DP histogram needs public categories (the data cannot choose them)")
        # Counting is done by Arrow (fast); OpenDP adds the noise. Adding or removing one row moves
        # one bucket (the public categories plus "other") by one: an L1 sensitivity of 1, the
        # d_in the measurement is mapped at, exactly as OpenDP's count_by_categories would give.
        counts = dp.vector_domain(dp.atom_domain(T=int))

        def noisy(scale: float) -> Any:
            return dp.m.make_laplace(counts, dp.l1_distance(T=int), scale)

        return _calibrated(noisy, query.epsilon), lambda t: _bucket_counts(t.column(query.column), cats)
    if query.bounds is None or not query.bounds[0] < query.bounds[1]:
        raise PolicyError(f"a DP {query.kind} needs public bounds (low < high), got {query.bounds}")
    low, high = float(query.bounds[0]), float(query.bounds[1])
    clamp = dp.t.make_clamp(floats, symmetric, (low, high))
    if query.kind == "sum":
        return (
            _calibrated(lambda s: clamp >> dp.t.then_sum() >> dp.m.then_laplace(s), query.epsilon),
            lambda t: _floats(t.column(query.column)),
        )
    if query.kind == "quantile":
        candidates = np.linspace(low, high, 257).tolist()

        def quantile(scale: float) -> Any:
            return clamp >> dp.m.then_private_quantile(
                dp.max_divergence(), candidates=candidates, alpha=query.quantile, scale=scale
            )

        return _calibrated(quantile, query.epsilon), lambda t: _floats(t.column(query.column))
    raise PolicyError(f"unknown DP aggregate {query.kind!r}; use count, sum, mean, quantile or histogram")


def private_aggregate(table: pa.Table, plan: ReadPlan, query: DpQuery, ledger: BudgetLedger) -> DpResult:
    """Run one DP aggregate over the rows ``plan`` allows, charging ``ledger`` first."""
    if not plan.decision.allowed or plan.variant not in ("rows", "aggregate"):
        raise AccessDeniedError(f"{plan.decision.principal} may not aggregate {plan.decision.resource}")
    if query.epsilon <= 0:
        raise PolicyError(f"ε must be positive, not {query.epsilon}")
    if query.kind != "count":
        action = plan.columns.get(query.column or "")
        if action is None or action.kind != "keep":
            # A hidden or transformed column answers no question, not even a noisy one.
            raise AccessDeniedError(f"column {query.column!r} is not available to {plan.decision.principal}")
    if plan.row_filter is not None:
        table = plan.row_filter.apply(table)
    if query.kind == "mean":
        # A mean is a noisy sum over a noisy count, each with half the ε (post-processing is free).
        # Check the whole ε first, so a budget that covers only the sum does not pay for nothing.
        left = ledger.remaining(plan.decision.principal, plan.decision.address)
        if query.epsilon > left + 1e-9:
            raise BudgetExhaustedError(
                exhausted_message(plan.decision.principal, plan.decision.address, query.epsilon, left)
            )
        half = DpQuery("sum", query.epsilon / 2, query.column, query.bounds)
        count = DpQuery("count", query.epsilon / 2)
        total = private_aggregate(table, plan, half, ledger)
        n = private_aggregate(table, plan, count, ledger)
        return DpResult(total.value / max(float(n.value), 1.0), total.epsilon + n.epsilon, n.remaining)
    measurement, prepare = _measurement(query)
    spent = float(measurement.map(1))
    remaining = ledger.charge(plan.decision.principal, plan.decision.address, spent)
    value = measurement(prepare(table))
    if query.kind == "histogram":
        value = dict(zip([*map(str, query.categories), "__other__"], value, strict=True))
    return DpResult(value, spent, remaining)
