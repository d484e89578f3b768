"""``run_demo`` end to end at a tiny scale: products, contents, time travel, re-runs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from hexmesh.demo import DemoResult, run_demo
from hexmesh.demo.deliveries import CHART
from hexmesh.errors import HexmeshError
from hexmesh.lifecycle import Workspace
from hexmesh.product import DeployedProduct, OutputPortReader, ReadRequest
from hexmesh.product.observability import port_health
from tests.demo.postgres import demo_database

from .conftest import SCALE

Demo = tuple[Workspace, DemoResult, list[Any]]
PORTS = [
    "dp://users/user-profiles/profiles",
    "dp://podcasts/play-events/plays",
    "dp://podcasts/podcast-catalog/podcasts",
    "dp://podcasts/listener-demographics/daily",
    "dp://podcasts/top-podcasts-daily/chart",
]


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by([(name, "ascending") for name in table.column_names])


def test_every_product_is_deployed_and_every_port_has_rows(demo: Demo) -> None:
    workspace, result, _ = demo
    assert sorted(workspace.deployed()) == [
        "podcasts/listener-demographics",
        "podcasts/play-events",
        "podcasts/podcast-catalog",
        "podcasts/top-podcasts-daily",
        "users/user-profiles",
    ]
    assert len(result.days) == 2
    for address in PORTS:
        assert workspace.read(address).num_rows > 0, address


def _breached(workspace: Workspace) -> list[str]:
    """Every breached (red) completeness SLO of every deployed port, as ``hexmesh status`` and the UI show it.

    Completeness only: freshness and timeliness depend on the hour the demo runs (a test must not).
    """
    breached = []
    for key in workspace.deployed():
        product = DeployedProduct.load(workspace.runtime, key)
        for port in product.spec.output_ports:
            health = port_health(OutputPortReader(workspace.runtime, product, port.name))
            breached += [
                f"{health.address} {c.name}: {c.detail}"
                for c in health.checks
                if c.name == "completeness" and c.status == "red"
            ]
    return breached


def test_a_first_demo_breaches_no_completeness_slo(demo: Demo) -> None:
    assert _breached(demo[0]) == []


def test_a_demo_run_on_a_tuesday_breaches_no_completeness_slo(tmp_path: Path, postgres: str) -> None:
    """Monday has ~10% fewer plays than Sunday (weekly seasonality): normal, not an incident."""
    from datetime import date

    workspace = Workspace.open(tmp_path / "home")
    result = run_demo(workspace, scale=SCALE, days=2, say=lambda _: None, today=date(2026, 12, 8), postgres=postgres)
    assert [d.strftime("%a") for d in result.days] == ["Sun", "Mon"]
    assert _breached(workspace) == []


def test_each_day_is_one_snapshot_per_port(demo: Demo) -> None:
    workspace, _, _ = demo
    for key in workspace.deployed():
        for port in workspace.status(key).ports:
            assert len(port.publications) == 2, port.address


def test_play_events_are_deduplicated_and_linked(demo: Demo) -> None:
    workspace, _, _ = demo
    plays = workspace.read("dp://podcasts/play-events/plays")
    profiles = workspace.read("dp://users/user-profiles/profiles")
    assert pc.count_distinct(plays["play_id"]).as_py() == plays.num_rows
    assert pc.all(pc.is_in(plays["listener_id"], profiles["user_id"])).as_py()


def test_listener_demographics_account_for_every_counted_play(demo: Demo) -> None:
    workspace, result, _ = demo
    plays = workspace.read("dp://podcasts/play-events/plays", ReadRequest(filter="counted = true"))
    daily = workspace.read("dp://podcasts/listener-demographics/daily")
    assert pc.sum(daily["plays"]).as_py() == plays.num_rows
    assert set(daily["day"].to_pylist()) == set(result.days)
    assert set(daily["age_band"].to_pylist()) <= {
        "under 18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown",
    }  # fmt: skip
    assert {"Europe", "North America"} <= set(daily["region"].to_pylist())
    assert pc.all(pc.less_equal(daily["listeners"], daily["plays"])).as_py()


def test_the_chart_ranks_ten_podcasts_a_day_by_plays(demo: Demo) -> None:
    workspace, result, _ = demo
    chart = workspace.read(CHART)
    catalog = workspace.read("dp://podcasts/podcast-catalog/podcasts")
    for day in result.days:
        rows = _sorted(chart.filter(pc.equal(chart["day"], day))).to_pylist()
        assert [r["rank"] for r in rows] == list(range(1, 11))
        assert [r["plays"] for r in rows] == sorted((r["plays"] for r in rows), reverse=True)
        assert all(r["title"] for r in rows)
    assert pc.all(pc.is_in(chart["podcast_id"], catalog["podcast_id"])).as_py()


def test_yesterdays_answer_is_unchanged_by_time_travel(demo: Demo) -> None:
    workspace, result, said = demo
    assert result.checkpoint is not None and result.chart_then is not None
    assert result.chart_as_of is not None and result.chart_now is not None
    as_of = workspace.read(CHART, ReadRequest(as_of=result.checkpoint))
    assert _sorted(as_of).equals(_sorted(result.chart_then))
    assert as_of.num_rows == 10 and result.chart_now.num_rows == 20
    assert result.unchanged is True
    assert any("identical to" in str(line) for line in said)


def test_the_summary_says_where_to_look_next(demo: Demo) -> None:
    _, result, said = demo
    text = "\n".join(str(line) for line in said)
    for address in PORTS:
        assert f"hexmesh read {address} --home {result.home}" in text
    assert f"hexmesh status podcasts/top-podcasts-daily --home {result.home}" in text
    assert f"--as-of {result.checkpoint.isoformat() if result.checkpoint else ''}" in text
    assert f"2 days of data ({result.days[0]} to {result.days[1]}) at scale" in text


def test_hexmesh_home_is_restored(demo: Demo) -> None:
    assert os.environ.get("HEXMESH_HOME") != str(demo[1].home)


def test_running_again_adds_nothing_and_still_shows_time_travel(tmp_path: Path, postgres: str) -> None:
    workspace = Workspace.open(tmp_path / "home")
    run_demo(workspace, scale=SCALE, days=2, say=lambda _: None, postgres=postgres)
    said: list[Any] = []
    again = run_demo(Workspace.open(tmp_path / "home"), scale=SCALE, days=2, say=said.append, postgres=postgres)
    assert again.days == []
    assert again.unchanged is True and again.chart_then is None
    assert any("nothing to run" in str(line) for line in said)
    for key in workspace.deployed():
        for port in workspace.status(key).ports:
            assert len(port.publications) == 2


def test_a_later_day_adds_only_that_day(tmp_path: Path, postgres: str) -> None:
    from datetime import date, timedelta

    today = date.today()
    workspace = Workspace.open(tmp_path / "home")
    run_demo(workspace, scale=SCALE, days=1, say=lambda _: None, today=today - timedelta(days=1), postgres=postgres)
    later = run_demo(workspace, scale=SCALE, days=2, say=lambda _: None, today=today, postgres=postgres)
    assert later.days == [today - timedelta(days=1)]
    assert later.unchanged is True
    assert workspace.read(CHART).num_rows == 20


@pytest.fixture(scope="module")
def one_day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, DemoResult, list[Any]]]:
    """A workspace after a one-day demo."""
    workspace = Workspace.open(tmp_path_factory.mktemp("one-day") / "home")
    said: list[Any] = []
    with demo_database() as postgres:
        yield workspace, run_demo(workspace, scale=SCALE, days=1, say=said.append, postgres=postgres), said


def test_one_day_explains_that_time_travel_needs_two(one_day: Demo) -> None:
    _, result, said = one_day
    assert result.checkpoint is None
    assert any("needs two days" in str(line) for line in said)
    assert any(f"1 day of data ({result.days[0]}) at scale" in str(line) for line in said)


def test_another_scale_on_the_same_workspace_is_refused(one_day: Demo) -> None:
    workspace = one_day[0]
    with pytest.raises(HexmeshError, match=r"generated at scale 0.01 .* --home"):
        run_demo(workspace, scale=0.02, days=1, say=lambda _: None)


@pytest.mark.parametrize(("scale", "days"), [(0.0, 2), (0.01, 0)])
def test_bad_arguments_are_refused_before_anything_is_written(tmp_path: Path, scale: float, days: int) -> None:
    workspace = Workspace.open(tmp_path / "home")
    with pytest.raises(HexmeshError, match="must be"):
        run_demo(workspace, scale=scale, days=days, say=lambda _: None)
    assert not (tmp_path / "home" / "landing").exists()
