"""SLOs are never silently off: completeness without expectedRows, drift bounds, and 'not configured'."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hexmesh.errors import SpecError
from hexmesh.infra.events import open_event_log
from hexmesh.lifecycle import Workspace
from hexmesh.product.eventstream import product_stream
from hexmesh.product.observability import NOT_CONFIGURED, Check, port_health
from hexmesh.product.slo_events import breach_events
from tests.support import orders_csv

ADDRESS = "dp://sales/orders/orders"


def _with_slo(orders: Path, slo: str) -> Path:
    spec = orders / "dataproduct.yaml"
    spec.write_text(spec.read_text().replace("    quality:\n", f"    slo: {slo}\n    quality:\n", 1))
    return orders


def _check(workspace: Workspace, name: str) -> Check:
    (check,) = [c for c in port_health(workspace.reader(ADDRESS)).checks if c.name == name]
    return check


def _day(orders: Path, day: int, count: int, amount: float = 10.0) -> None:
    (orders / "data" / f"day{day}.csv").write_text(orders_csv(day * 1000, count, day=f"2026-01-0{day}", amount=amount))


def test_completeness_without_expected_rows_compares_with_the_previous_publication(
    workspace: Workspace, orders: Path
) -> None:
    workspace.deploy([_with_slo(orders, "{completeness: 0.9}")])
    workspace.run("sales/orders")  # day 1: 5 rows
    first = _check(workspace, "completeness")
    _day(orders, 2, 4)  # 4 of 5: 80 %, under 90 %
    workspace.run("sales/orders")
    short = _check(workspace, "completeness")
    _day(orders, 3, 4)  # 4 of 4
    workspace.run("sales/orders")
    whole = _check(workspace, "completeness")
    assert first.status == "green" and "compared with it" in first.detail
    assert short.status == "red" and short.actual == pytest.approx(0.8)
    assert short.detail == "4 of 5 rows of the previous publication"
    assert whole.status == "green" and whole.actual == 1.0


def test_expected_rows_still_win(workspace: Workspace, orders: Path) -> None:
    workspace.deploy([_with_slo(orders, "{completeness: 0.9, expectedRows: 10}")])
    workspace.run("sales/orders")
    check = _check(workspace, "completeness")
    assert check.status == "red" and check.detail == "5 of 10 expected rows"


def test_undeclared_completeness_and_drift_say_not_configured(workspace: Workspace, orders: Path) -> None:
    workspace.deploy([orders])
    workspace.run("sales/orders")
    health = port_health(workspace.reader(ADDRESS))
    checks = {c.name: c for c in health.checks}
    assert checks["completeness"].status == checks["drift"].status == NOT_CONFIGURED
    assert "declare slo.completeness" in checks["completeness"].detail
    assert "declare slo.drift" in checks["drift"].detail
    assert health.status == "green"  # not configured is reported, never counted as broken


def test_drift_beyond_its_bound_is_red_and_alerts_on_the_product_stream(
    workspace: Workspace, orders: Path, tmp_path: Path
) -> None:
    workspace.deploy([_with_slo(orders, "{drift: {mean: 0.5, fields: [amount]}}")])
    workspace.run("sales/orders")
    _day(orders, 2, 5, amount=12.0)  # +20 %: within ±50 %
    workspace.run("sales/orders")
    calm = _check(workspace, "drift")
    _day(orders, 3, 5, amount=30.0)  # +150 %
    workspace.run("sales/orders")
    reader = workspace.reader(ADDRESS)
    health = port_health(reader)
    (moved,) = [c for c in health.checks if c.name == "drift"]

    async def alerts() -> list[str]:
        log = open_event_log(None, tmp_path / "events")
        try:
            await breach_events(reader, health, log)
            return [str(e.body["data"]["slo"]) for e in await log.read(product_stream("sales/orders"), 0, 100)]
        finally:
            await log.close()

    assert calm.status == "green" and calm.actual == pytest.approx(0.4)
    assert moved.status == "red" and "amount mean +150.00% (bound ±50.00%)" in moved.detail
    assert "drift" in asyncio.run(alerts())


@pytest.mark.parametrize(
    ("slo", "words"),
    [
        ("{drift: {fields: [amount]}}", "drift needs a bound"),
        ("{drift: {mean: 0.5, fields: [amout]}}", "drift field 'amout' is not a field of port 'orders'"),
        ("{drift: {nullRatio: 2}}", "less than or equal to 1"),
    ],
)
def test_bad_drift_bounds_are_refused(workspace: Workspace, orders: Path, slo: str, words: str) -> None:
    with pytest.raises(SpecError, match=words):
        workspace.deploy([_with_slo(orders, slo)])


def test_volume_leaves_an_append_ports_initial_load_out_of_its_mean(workspace: Workspace, orders: Path) -> None:
    workspace.deploy([orders])
    workspace.run("sales/orders")  # the initial load: 5 rows
    _day(orders, 2, 1)  # one delivery of 1 row: not -80 % against the load
    workspace.run("sales/orders")
    first = _check(workspace, "volume")
    _day(orders, 3, 1)
    workspace.run("sales/orders")
    steady = _check(workspace, "volume")
    _day(orders, 4, 5)  # 5 rows against deliveries of 1: +400 %
    workspace.run("sales/orders")
    jump = _check(workspace, "volume")
    assert first.status == "green" and first.detail.endswith(
        "the first snapshot (5 rows) was the initial load, no delivery to compare with yet"
    )
    assert steady.status == "green" and steady.detail == "1 rows against a mean of 1 (+0%)"
    assert jump.status == "amber" and jump.detail == "5 rows against a mean of 1 (+400%)"
