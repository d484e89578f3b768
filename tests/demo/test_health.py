"""A fresh demo is healthy whatever the hour it runs, and a real breach still shows (the clock is injected)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from hexmesh.demo import DemoResult, run_demo
from hexmesh.demo.deliveries import CHART
from hexmesh.lifecycle import Workspace
from hexmesh.product import DeployedProduct, OutputPortReader
from hexmesh.product.observability import lag, port_health, timeliness

from .conftest import SCALE

Demo = tuple[Workspace, DemoResult, list[Any]]

#: Hours of the day after the last day at which the demo's daily runs may publish it.
HOURS = (time(0, 5), time(6), time(12), time(18), time(23, 59))


def _readers(workspace: Workspace) -> list[OutputPortReader]:
    readers = []
    for key in sorted(workspace.deployed()):
        product = DeployedProduct.load(workspace.runtime, key)
        readers += [OutputPortReader(workspace.runtime, product, p.name) for p in product.spec.output_ports]
    return readers


def _last_rows(reader: OutputPortReader) -> pa.Table:
    """The rows the port's last publication added, as the timeliness observer measures them."""
    publications = reader.publications()
    before = publications[-2].snapshot_id if len(publications) > 1 else reader.record.baseline_snapshot
    return reader.runtime.tables.scan(reader.record.table_id, publications[-1].snapshot_id, since_snapshot=before)


def _published_at(day: date, hour: time, later: timedelta = timedelta()) -> int:
    moment = datetime.combine(day + timedelta(days=1), hour, tzinfo=UTC) + later
    return int(moment.timestamp() * 1_000_000)


def _timed(workspace: Workspace) -> list[OutputPortReader]:
    return [r for r in _readers(workspace) if r.spec.slo and r.spec.slo.timeliness and r.spec.event_time]


@pytest.mark.parametrize("hour", HOURS, ids=str)
def test_the_last_day_published_at_any_hour_of_the_next_keeps_every_timeliness_promise(demo: Demo, hour: time) -> None:
    workspace, result, _ = demo
    timed = _timed(workspace)
    assert {r.address for r in timed} >= {CHART, "dp://podcasts/play-events/plays", "dp://users/user-profiles/profiles"}
    for reader in timed:
        assert reader.spec.slo is not None and reader.spec.slo.timeliness is not None
        lags = lag(_last_rows(reader), reader.spec.event_time, _published_at(result.days[-1], hour))
        check = timeliness(reader.spec.slo.timeliness, lags)
        assert check.status == "green", (reader.address, hour, check.detail)


def test_a_day_published_two_days_late_breaks_the_promise(demo: Demo) -> None:
    workspace, result, _ = demo
    for reader in _timed(workspace):
        assert reader.spec.slo is not None and reader.spec.slo.timeliness is not None
        late = _published_at(result.days[-1], time(12), later=timedelta(days=2))
        check = timeliness(reader.spec.slo.timeliness, lag(_last_rows(reader), reader.spec.event_time, late))
        assert check.status == "red", (reader.address, check.detail)


def test_a_fresh_demo_is_green_now_and_its_freshness_breaks_when_left_two_days(demo: Demo) -> None:
    workspace, _, _ = demo
    now = [port_health(r) for r in _readers(workspace)]
    assert {h.address: h.status for h in now} == {h.address: "green" for h in now}
    later = int((datetime.now(UTC) + timedelta(days=2)).timestamp() * 1_000_000)
    for reader in _readers(workspace):
        (freshness,) = [c for c in port_health(reader, now=later).checks if c.name == "freshness"]
        assert freshness.status == "red" and "promised at most 1d" in freshness.detail, reader.address


def test_the_profiles_volume_compares_deliveries_not_the_initial_load(demo: Demo) -> None:
    workspace, _, _ = demo
    (reader,) = [r for r in _readers(workspace) if r.address == "dp://users/user-profiles/profiles"]
    (volume,) = [c for c in port_health(reader).checks if c.name == "volume"]
    assert volume.status == "green" and "was the initial load" in volume.detail, volume.detail


def test_a_week_of_history_publishes_every_day(tmp_path: Path) -> None:
    """The gate judges each day as of its end: play-events' freshness check (3d) passes a week-old day."""
    workspace = Workspace.open(tmp_path / "home")
    result = run_demo(workspace, scale=SCALE, days=7, say=lambda _: None)
    assert len(result.days) == 7
    for reader in _readers(workspace):
        assert len(reader.publications()) == 7, reader.address
    chart = workspace.read(CHART)
    assert sorted(set(chart.column("day").to_pylist())) == result.days
    assert {h.status for h in (port_health(r) for r in _readers(workspace))} == {"green"}
