"""A viewer's first rows of a port and a profile of its columns, read through the policy's door.

The rows are the viewer's own shaped view (:func:`hexmesh.product.policy.shaped_batches`, audited
with ``via="ui"``): hidden columns are absent, masked ones masked, row filters and minimum group
sizes applied, synthetic rows for a synthetic-only viewer. A viewer allowed aggregates only gets
no rows (:class:`AggregateOnlyError`); when it asks, it gets a private profile instead
(:func:`private_profile`): a noisy row count and a noisy null count per column it may aggregate,
by the SQL port's mechanism (OpenDP's Laplace counts) and charged to its budget on the port as
the SQL port charges it, ε :data:`PRIVATE_EPSILON` per number, all of it before any is released.
No distinct count, min, max or histogram: those are exact values the policy does not release.
The profile (nulls, distinct values, min/max, a small histogram) is computed over the same shaped
rows, at most :data:`PROFILE_ROWS` of them, and says when it stopped there.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from hexmesh.governance import (
    AccessDeniedError,
    BudgetExhaustedError,
    DpQuery,
    Principal,
    ReadPlan,
    private_aggregate,
)
from hexmesh.governance.privacy import exhausted_message
from hexmesh.product import DeployedProduct
from hexmesh.product.policy import PortRead, one_request, shaped_batches, unrestricted_table
from hexmesh.serving.node import Node
from hexmesh.serving.standing import readers_plan

__all__ = [
    "PREVIEW_ROWS",
    "PRIVATE_EPSILON",
    "PROFILE_ROWS",
    "AggregateOnlyError",
    "ColumnProfile",
    "Preview",
    "PrivateOffer",
    "PrivateProfile",
    "preview",
    "private_offer",
    "private_profile",
]

#: Rows shown; rows profiled at most (a profile past it says it covers the first ones only).
PREVIEW_ROWS = 20
PROFILE_ROWS = 100_000
#: Bars of a numeric histogram; most frequent values listed for other columns.
BINS = 8
TOP = 5
#: Longest text of one shown value.
CELL_CHARS = 80
#: ε each number of a private profile costs: the SQL port's default per aggregate (SET hexmesh.epsilon).
PRIVATE_EPSILON = 0.1


class AggregateOnlyError(AccessDeniedError):
    """The viewer may query differentially private aggregates of the port, not read its rows."""


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    type: str
    nulls: int
    distinct: int
    min: str | None
    max: str | None
    histogram: tuple[tuple[str, int], ...]
    """(label, count): value ranges of a numeric column, else its most frequent values."""


@dataclass(frozen=True)
class Preview:
    port: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    profile: tuple[ColumnProfile, ...]
    profiled: int
    """Rows the profile covers."""
    complete: bool
    """Whether those are all of the viewer's rows (else the first PROFILE_ROWS)."""
    snapshot: int | None
    variant: str = "rows"


def preview(node: Node, principal: Principal, product: DeployedProduct, port: str) -> Preview:
    """``principal``'s first rows of ``port`` and the profile of its view, read through the door (on a node
    without ``--auth``, the unrestricted principal's: every row and column).

    Raises:
        AccessDeniedError: the viewer may not read rows of the port (the message says how to ask).
        AuthenticationError: an anonymous viewer on a port that is not public.
    """
    product.output(port)  # NotFoundError naming the ports
    with one_request():
        plan, purpose = readers_plan(node, principal, product, port)
        if plan.decision.allowed and plan.variant == "aggregate":
            raise AggregateOnlyError(
                f"{principal.key} may query aggregates of dp://{product.key}/{port} only, not rows: "
                "there is no row preview; ask for a private profile (charged to your privacy budget), "
                "or use the SQL port's differentially private aggregates"
            )
        read = PortRead(product, principal, port, via="ui", purpose=purpose)
        schema, snapshot, batches = shaped_batches(node.policies, read)
    return _previewed(port, schema, snapshot, batches, plan.variant)


@dataclass(frozen=True)
class PrivateOffer:
    """What a private profile of ``port`` would count, and what it would cost the viewer."""

    port: str
    columns: tuple[str, ...]
    """The columns whose nulls it counts: those the viewer may aggregate (kept in clear)."""
    cost: float
    remaining: float
    """The viewer's ε left on the port, before it."""


@dataclass(frozen=True)
class PrivateProfile:
    offer: PrivateOffer
    rows: int
    nulls: tuple[tuple[str, int], ...]
    remaining: float


def _aggregate_plan(node: Node, principal: Principal, product: DeployedProduct, port: str) -> ReadPlan:
    product.output(port)  # NotFoundError naming the ports
    plan, _ = readers_plan(node, principal, product, port)
    if not (plan.decision.allowed and plan.variant == "aggregate"):
        raise AccessDeniedError(
            f"a private profile is for viewers allowed aggregates of dp://{product.key}/{port} only; "
            f"{principal.key} is not (open the port's preview instead)"
        )
    return plan


def _offer(node: Node, plan: ReadPlan, port: str) -> PrivateOffer:
    columns = tuple(name for name, action in plan.columns.items() if action.kind == "keep")
    left = node.policies.ledger.remaining(plan.decision.principal, plan.decision.address)
    return PrivateOffer(port, columns, _epsilon(PRIVATE_EPSILON * (1 + len(columns))), _epsilon(left))


def _epsilon(value: float) -> float:
    """ε as the page says it: sums of tenths without their floating-point dust (0.5, not 0.5000000001)."""
    return round(value, 9) + 0.0


def private_offer(node: Node, principal: Principal, product: DeployedProduct, port: str) -> PrivateOffer:
    """What :func:`private_profile` would count and cost ``principal`` (spends nothing)."""
    with one_request():
        return _offer(node, _aggregate_plan(node, principal, product, port), port)


def private_profile(node: Node, principal: Principal, product: DeployedProduct, port: str) -> PrivateProfile:
    """A noisy row count and noisy null counts of ``port``, charged to ``principal``'s budget, audited.

    Raises:
        BudgetExhaustedError: the budget left does not cover every number (nothing is spent).
        AccessDeniedError: the viewer may read rows (its preview has an exact profile) or nothing.
    """
    with one_request():
        plan = _aggregate_plan(node, principal, product, port)
        offer = _offer(node, plan, port)
        who, address = plan.decision.principal, plan.decision.address
        if offer.cost > offer.remaining + 1e-9:
            node.policies.record(plan, via="ui", details={"private_profile": "refused", "epsilon": offer.cost})
            raise BudgetExhaustedError(exhausted_message(who, address, offer.cost, offer.remaining))
        node.policies.record(plan, via="ui", details={"private_profile": list(offer.columns), "epsilon": offer.cost})
        table = unrestricted_table(node.policies, product, port, actor=f"ui:{principal.key}", sealed=True)
        ledger, count = node.policies.ledger, DpQuery("count", PRIVATE_EPSILON)
        rows = private_aggregate(table, plan, count, ledger).value
        nulls = []
        for name in offer.columns:
            missing = table.filter(pc.is_null(table.column(name), nan_is_null=True))
            found = private_aggregate(missing, plan, count, ledger)
            nulls.append((name, max(0, int(found.value))))  # post-processing spends nothing
    return PrivateProfile(offer, max(0, int(rows)), tuple(nulls), _epsilon(ledger.remaining(who, address)))


def _previewed(
    port: str, schema: pa.Schema, snapshot: int | None, batches: Iterator[pa.RecordBatch], variant: str
) -> Preview:
    taken, count = [], 0
    for batch in batches:
        taken.append(batch.slice(0, PROFILE_ROWS - count))
        count += taken[-1].num_rows
        if count >= PROFILE_ROWS:
            break
    complete = next(batches, None) is None if count >= PROFILE_ROWS else True
    close = getattr(batches, "close", None)
    if close is not None:
        close()
    table = pa.Table.from_batches(taken, schema=schema)
    head = table.slice(0, PREVIEW_ROWS).to_pylist()
    return Preview(
        port=port,
        columns=tuple(schema.names),
        rows=tuple(tuple(_cell(row[name]) for name in schema.names) for row in head),
        profile=tuple(_profile(name, table.column(name)) for name in schema.names),
        profiled=table.num_rows,
        complete=complete,
        snapshot=snapshot,
        variant=variant,
    )


def _profile(name: str, column: pa.ChunkedArray) -> ColumnProfile:
    kind = column.type
    present = pc.drop_null(column)
    low = high = None
    histogram: tuple[tuple[str, int], ...] = ()
    numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
    textual = pa.types.is_string(kind) or pa.types.is_large_string(kind)
    if len(present) and (numeric or textual or pa.types.is_temporal(kind)):
        bounds = pc.min_max(present)
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
    if len(present) and numeric and low is not None and high is not None:
        whole = pa.types.is_integer(kind)
        histogram = _integer_bins(present, low, high) if whole else _numeric_bins(present)
    elif len(present):
        counted = pc.value_counts(present).to_pylist()
        counted.sort(key=lambda c: (-c["counts"], str(c["values"])))
        histogram = tuple((_cell(c["values"]), int(c["counts"])) for c in counted[:TOP])
    return ColumnProfile(
        name=name,
        type=str(kind),
        nulls=column.null_count,
        distinct=pc.count_distinct(present).as_py() if len(present) else 0,
        min=None if low is None else _cell(low),
        max=None if high is None else _cell(high),
        histogram=histogram,
    )


def _integer_bins(values: pa.ChunkedArray, low: int, high: int) -> tuple[tuple[str, int], ...]:
    """Counts per range of whole numbers, exact however large (ids such as 20261207000000001 are past
    what a float holds); a column with at most BINS values gets one bar per value."""
    width = -(-(high - low + 1) // BINS)
    counts = [0] * -(-(high - low + 1) // width)
    for v in values.to_pylist():
        counts[(v - low) // width] += 1
    starts = [low + i * width for i in range(len(counts))]
    if width == 1:
        return tuple((f"{start:,}", n) for start, n in zip(starts, counts, strict=True))
    return tuple((f"{start:,}–{min(start + width - 1, high):,}", n) for start, n in zip(starts, counts, strict=True))


def _numeric_bins(values: pa.ChunkedArray) -> tuple[tuple[str, int], ...]:
    """Counts per value range of the finite values (NaN and infinities have no bar); one range
    holds them all when they are all the same."""
    numbers = [x for x in (float(v) for v in values.to_pylist()) if math.isfinite(x)]
    if not numbers:
        return ()
    low, high = min(numbers), max(numbers)
    if high <= low:
        return ((_number(low), len(numbers)),)
    width = (high - low) / BINS
    counts = [0] * BINS
    for v in numbers:
        counts[min(int((v - low) / width), BINS - 1)] += 1
    edges = [low + i * width for i in range(BINS + 1)]
    return tuple((f"{_number(a)}–{_number(b)}", n) for (a, b), n in zip(itertools.pairwise(edges), counts, strict=True))


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:,.2f}"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        text = value.isoformat(sep=" ")
    elif isinstance(value, date | time):
        text = value.isoformat()
    else:
        text = str(value)
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"
