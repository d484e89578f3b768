"""The demo's lifecycle scene: a breaking change refused, two majors serving, a day flowing down."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from hexmesh.demo import run_demo
from hexmesh.demo.deliveries import Landing
from hexmesh.demo.story import PRODUCT, tell_story
from hexmesh.lifecycle import Workspace

from .conftest import SCALE


def test_the_scene_refuses_a_breaking_change_serves_two_majors_and_flows_a_day_down(
    tmp_path: Path, postgres: str
) -> None:
    said: list[Any] = []
    with Workspace.open(tmp_path / "home") as workspace:
        result = run_demo(workspace, scale=SCALE, days=2, say=said.append, story=True, postgres=postgres)
        text = "\n".join(str(line) for line in said)
        assert "breaking[/] outputPorts.titles.properties.plays: field 'plays' removed" in text
        assert "deploy 1.1.0: [red]refused[/]" in text and "deploy it as 2.0.0" in text
        versions = sorted(v.version for v in workspace.runtime.state.versions(PRODUCT))
        assert versions == ["1.0.0", "2.0.0"]  # 1.1.0 was never deployed
        one = workspace.read(f"dp://{PRODUCT}@1/titles")
        two = workspace.read(f"dp://{PRODUCT}@2/titles")
        assert "plays" in one.column_names and "plays" not in two.column_names
        assert one.num_rows == two.num_rows > 0
        # The new day reached every dependent, upstreams first, in one scheduler pass.
        flow = [line for line in text.splitlines() if line.startswith("    succeeded ") and "@" in line]
        order = [line.split()[1] for line in flow]
        assert order.index("podcasts/top-podcasts-daily@2") < order.index(f"{PRODUCT}@1")
        assert {f"{PRODUCT}@1", f"{PRODUCT}@2", "podcasts/listener-demographics@3"} <= set(order)
        days = {d.isoformat() for d in result.days}
        assert len(set(one.column("day").to_pylist()) - {None}) == len(days) + 1
        landing = Landing.open(workspace.settings.home / "landing", scale=SCALE, seed=42)
        assert len(landing.days) == 3 and all(d.finished_at for d in landing.days)
        # The scene's new day is yesterday, after the history: no play lies ahead of the clock.
        today = datetime.now(UTC).date()
        assert [date.fromisoformat(d.day) for d in landing.days] == [today - timedelta(days=n) for n in (3, 2, 1)]
        # The summary, printed before the scene, counts the day the scene lands: what the user will have.
        first, yesterday = today - timedelta(days=3), today - timedelta(days=1)
        assert f"3 days of data ({first} to {yesterday}; the lifecycle scene below lands {yesterday})" in text
        newest = pc.max(workspace.read("dp://podcasts/play-events/plays").column("played_at")).as_py()
        assert newest < datetime.combine(today, time(), tzinfo=UTC)
        assert tell_story(workspace, landing, said.append) is False  # told once per workspace


def test_the_scene_lands_no_day_that_is_not_over(tmp_path: Path) -> None:
    """History up to yesterday already (a demo without the scene): the scene lands nothing of today."""
    today = datetime.now(UTC).date()
    said: list[Any] = []
    with Workspace.open(tmp_path / "home") as workspace:
        run_demo(workspace, scale=SCALE, days=1, say=lambda _: None, today=today)
        run_demo(workspace, scale=SCALE, days=1, say=said.append, story=True, today=today)
        text = "\n".join(str(line) for line in said)
        assert f"no new day to land: every day up to {today - timedelta(days=1)} has landed" in text
        assert "1 day of data" in text and "the lifecycle scene below lands" not in text
        newest = pc.max(workspace.read("dp://podcasts/play-events/plays").column("played_at")).as_py()
        assert newest < datetime.combine(today, time(), tzinfo=UTC)
        assert "@2 serves" in text  # the rest of the scene played
