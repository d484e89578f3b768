"""Decision latency: p50/p99 of one access decision and of a full read plan, against raw cedarpy.

The baseline in the same run is one ``cedarpy.is_authorized`` call on the same pre-parsed
policy set and entities: what any Cedar user pays. Writes bench/results/governance-decisions.json.
Run: ``python -m bench.governance.decisions``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import cedarpy

from bench.governance import _data
from bench.report import Result, show
from tests.governance.conftest import ANALYST, OWNER, SELLER_EU, STATISTICIAN, STRANGER, STUDENT

CALLS = 5000


def _summary(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {
        "p50_us": statistics.median(times),
        "p99_us": times[int(0.99 * len(times)) - 1],
        "max_us": times[-1],
        "calls": len(times),
    }


def _interleaved(actions: dict[str, Callable[[int], object]], calls: int) -> dict[str, dict[str, float]]:
    """Time the actions turn by turn, so a burst of load on a shared machine hits them alike."""
    for i in range(200):  # warm caches (principal entities) as a running node would have them
        for action in actions.values():
            action(i)
    times: dict[str, list[float]] = {name: [] for name in actions}
    for i in range(calls):
        for name, action in actions.items():
            started = time.perf_counter_ns()
            action(i)
            times[name].append((time.perf_counter_ns() - started) / 1000)
    return {name: _summary(t) for name, t in times.items()}


def run() -> Result:
    from hexmesh.governance import plan_read

    decider = _data.decider()
    start = time.time()
    principals = [OWNER, ANALYST, SELLER_EU, STATISTICIAN, STUDENT, STRANGER]
    request = decider._request(ANALYST, "read", 'Port::"podcasts/listens/daily"', "reporting", time.time())
    entities = decider.entities(ANALYST)
    measured = _interleaved(
        {
            "raw": lambda i: cedarpy.is_authorized(request, decider.policy_set, entities),
            "decide": lambda i: decider.decide(principals[i % 6], "read", "daily", purpose="reporting"),
            # A new second each call: every plan is computed, never served from the per-second cache.
            "plan": lambda i: plan_read(decider, principals[i % 6], "daily", purpose="reporting", now=start + i),
            "cached_plan": lambda i: plan_read(decider, principals[i % 6], "daily", purpose="reporting", now=start),
        },
        CALLS,
    )
    raw, decide, plan, cached = measured["raw"], measured["decide"], measured["plan"], measured["cached_plan"]
    result = Result(
        "governance-decisions",
        "decision p99 < 1 ms",
        headline=[
            ("decision p50 / p99", f"{decide['p50_us']:.0f} / {decide['p99_us']:.0f} µs"),
            ("raw cedarpy p50 / p99", f"{raw['p50_us']:.0f} / {raw['p99_us']:.0f} µs"),
            ("read plan p50 / p99", f"{plan['p50_us']:.0f} / {plan['p99_us']:.0f} µs"),
            ("cached read plan p50 / p99", f"{cached['p50_us']:.1f} / {cached['p99_us']:.1f} µs"),
        ],
        data={
            "decision": decide,
            "raw_cedarpy": raw,
            "read_plan": plan,
            "cached_read_plan": cached,
            "policies": len(str(decider.policy_set).split("@id")) - 1,
        },
    )
    return result


if __name__ == "__main__":
    outcome = run()
    outcome.write()
    show([outcome])
