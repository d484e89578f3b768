"""DP query latency: each OpenDP aggregate over 1M rows, against the exact pyarrow aggregate.

Writes bench/results/governance-dp.json. Run: ``python -m bench.governance.dp [rows]``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from bench.governance import _data
from bench.report import Result, median_time, show
from hexmesh.governance import DpQuery, MemoryLedger, plan_read, private_aggregate
from tests.governance.conftest import STATISTICIAN

REPEAT = 5
QUERIES: dict[str, tuple[DpQuery, Callable[[pa.Table], Any]]] = {
    "count": (DpQuery("count", 0.1), lambda t: t.num_rows),
    "sum": (DpQuery("sum", 0.1, "minutes", (0, 600)), lambda t: pc.sum(t.column("minutes"))),
    "mean": (DpQuery("mean", 0.1, "minutes", (0, 600)), lambda t: pc.mean(t.column("minutes"))),
    "median": (DpQuery("quantile", 0.1, "age", (0, 120)), lambda t: pc.approximate_median(t.column("age"))),
    "histogram": (
        DpQuery("histogram", 0.1, "region", categories=["EU", "NA", "APAC"]),
        lambda t: pc.value_counts(t.column("region")),
    ),
}


def run(n: int = 1_000_000) -> Result:
    decider = _data.decider()
    table = _data.rows(n)
    plan = plan_read(decider, STATISTICIAN, "daily")
    ledger = MemoryLedger(limit=1e9)
    data: dict[str, dict[str, Any]] = {}
    for name, (query, exact) in QUERIES.items():
        dp_s, runs = median_time(partial(private_aggregate, table, plan, query, ledger), REPEAT)
        exact_s, _ = median_time(partial(exact, table), REPEAT)
        data[name] = {"dp_median_s": dp_s, "exact_median_s": exact_s, "runs": runs}
    return Result(
        "governance-dp",
        "report (no goal set)",
        headline=[
            (name, f"{d['dp_median_s'] * 1000:.1f} ms (exact {d['exact_median_s'] * 1000:.1f} ms)")
            for name, d in data.items()
        ],
        data={"rows": n, "epsilon_per_query": 0.1, "queries": data},
    )


if __name__ == "__main__":
    outcome = run(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
    outcome.write()
    show([outcome])
