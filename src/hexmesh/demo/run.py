"""``hexmesh demo``: generate days of podcast data, deploy the example mesh, run it day by day."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
from rich.console import Console

from hexmesh.demo.database import POSTGRES_VARIABLE, Registrations, demo_postgres
from hexmesh.demo.deliveries import CHART, Landing, digest
from hexmesh.demo.embedded import SqliteRegistrations
from hexmesh.demo.generator import generate_day
from hexmesh.demo.governance import governance_tour
from hexmesh.demo.mesh import example_mesh, install_governance
from hexmesh.demo.story import tell_story, told
from hexmesh.demo.summary import Summary, show_summary
from hexmesh.errors import HexmeshError, redacted_url
from hexmesh.infra.settings import HOME_ENV
from hexmesh.lifecycle import ReadRequest, RunResult, Workspace

__all__ = ["DemoResult", "run_demo"]

Say = Callable[[Any], None]
#: The SQLite registration table's file in the landing folder, as the example spec reads it.
REGISTRATIONS_FILE = "registrations.sqlite"
#: The port the time-travel read uses: small, and it changes every day.
SEED = 42


@dataclass
class DemoResult:
    """What a demo run did, and the time-travel read it showed."""

    home: Path
    days: list[date] = field(default_factory=list)
    """Days generated and run by this call (empty when every day was already there)."""
    checkpoint: datetime | None = None
    """When the runs of the day before the last one had finished."""
    chart_then: pa.Table | None = None
    """The chart as read right after that day's runs (only when this call ran that day)."""
    chart_as_of: pa.Table | None = None
    """The chart read now ``as_of`` the checkpoint: always equal to ``chart_then``."""
    chart_now: pa.Table | None = None
    unchanged: bool | None = None
    """Whether the as-of read matches what was published then (by digest across calls)."""


def run_demo(
    workspace: Workspace,
    *,
    scale: float = 0.1,
    days: int = 2,
    say: Say | None = None,
    seed: int = SEED,
    today: date | None = None,
    story: bool = False,
    governance: bool = False,
    postgres: str | None = None,
) -> DemoResult:
    """Generate ``days`` days ending yesterday, deploy the example mesh and run it once per day.

    Running it again on the same workspace adds only the days not generated yet (none on the
    same day), runs the mesh (incremental inputs skip what they read already) and shows the summary.
    With ``governance``, the policy tour follows (:mod:`hexmesh.demo.governance`: masking, an access
    request, a synthetic variant); with ``story``, the lifecycle scene (:mod:`hexmesh.demo.story`).

    ``postgres`` is the registration service's PostgreSQL database, which the demo creates and
    fills (default: ``$HEXMESH_DEMO_POSTGRES``); when neither names one, the table is in SQLite in
    the landing folder, which is what the example spec reads without the variable. For a fresh
    workspace the ``registrations`` table starts empty.
    """
    say = say or Console().print
    if days < 1:
        raise HexmeshError(f"days {days!r} must be at least 1")
    if not scale > 0:
        raise HexmeshError(f"scale {scale!r} must be a positive number, for example 0.1 or 1")
    home = workspace.settings.home
    landing = Landing.open(home / "landing", scale=scale, seed=seed)
    yesterday = (today or datetime.now(UTC).date()) - timedelta(days=1)
    # The lifecycle scene lands a new day of its own: yesterday, so that no day is landed before it
    # is over (today's file would hold plays of hours still to come), and the history ends before it.
    scene = story and not told(workspace)
    newest = yesterday - timedelta(days=1) if scene else yesterday
    wanted = [newest - timedelta(days=n) for n in range(days - 1, -1, -1)]
    last = landing.last_day
    todo = [d for d in wanted if last is None or d > last]
    result = DemoResult(home)
    registrations = _registration_table(demo_postgres(postgres), landing, say)
    with _variables(home, registrations.url if isinstance(registrations, Registrations) else None):
        mesh = example_mesh()
        say(f"Example mesh: {mesh}")
        folder, installed = install_governance(workspace.settings, mesh)
        say(f"  {'installed' if installed else 'kept'} the mesh's governance folder {folder}")
        for outcome in workspace.deploy([mesh]):
            verb = "deployed" if outcome.changed else "unchanged"
            say(f"  {verb} {outcome.product} {outcome.version}")
        for day in todo:
            started = time.perf_counter()
            generated = generate_day(landing.folder, scale=scale, day=day, seed=seed, start=landing.first_day or day)
            # Loaded before the day is recorded: a demo stopped in between generates and loads it again.
            registrations.load(landing.folder / "registrations" / f"{day}.jsonl")
            landing.record(day)
            landing.save()
            say(
                f"Day {day}: generated {generated.registrations:,} registrations, "
                f"{generated.plays:,} plays, {generated.podcasts:,} podcasts "
                f"in {time.perf_counter() - started:.1f} s"
            )
            chart = _process(workspace, landing, say, checked_at=_day_end(day))
            result.days.append(day)
            if len(todo) > 1 and day == todo[-2]:
                result.chart_then = chart
        if not todo and any(d.finished_at is None for d in landing.days):
            say("Running the mesh on the days an earlier demo generated but did not finish.")
            for record in landing.days:
                if record.finished_at is None:
                    registrations.load(landing.folder / "registrations" / f"{record.day}.jsonl")
            _process(workspace, landing, say)
        elif not todo:
            say(f"Every day up to {last} is generated and processed already; nothing to run.")
        _time_travel(workspace, landing, result)
        # The scene lands yesterday after the summary, unless it landed already (tell_story decides the same).
        coming = yesterday if story and (landing.last_day is None or yesterday > landing.last_day) else None
        show_summary(Summary.collect(workspace, landing, result, coming=coming), say)
        if governance:
            governance_tour(workspace, say)
        if story:
            tell_story(workspace, landing, say, day=yesterday, registrations=registrations)
    return result


def _registration_table(postgres: str | None, landing: Landing, say: Say) -> Registrations | SqliteRegistrations:
    """The registration service's table: in PostgreSQL when asked, else in SQLite; one kind per workspace."""
    kind = "postgresql" if postgres else "sqlite"
    if landing.registrations not in (None, kind):
        hint = (
            f"set {POSTGRES_VARIABLE} (or --postgres) to that database again"
            if landing.registrations == "postgresql"
            else f"unset {POSTGRES_VARIABLE} and leave out --postgres"
        )
        raise HexmeshError(
            f"this workspace's registration table is in {landing.registrations}, not {kind}: a workspace keeps "
            f"one, or its users/user-profiles would read from the wrong place; {hint}, or pass another --home"
        )
    fresh = not landing.days
    if postgres:
        table: Registrations | SqliteRegistrations = Registrations.prepare(postgres, fresh=fresh)
        say(f"The registration service's table: PostgreSQL {redacted_url(postgres)} (registrations)")
    else:
        table = SqliteRegistrations.prepare(landing.folder / REGISTRATIONS_FILE, fresh=fresh)
        say(
            f"The registration service's table: SQLite {table.file} (no PostgreSQL asked for; "
            f"to use PostgreSQL: hexmesh demo --postgres URL, or {POSTGRES_VARIABLE}=URL)"
        )
    landing.registrations = kind
    return table


@contextmanager
def _variables(home: Path, postgres: str | None) -> Iterator[None]:
    """Set the variables the example specs read for the runs.

    ``${HEXMESH_HOME}/landing`` holds the files (and the SQLite registration table);
    ``${HEXMESH_DEMO_POSTGRES}``, when the demo uses PostgreSQL, is the registration database
    (a scheduler started later without it reads the SQLite file).
    """
    values = {HOME_ENV: str(home), POSTGRES_VARIABLE: postgres}
    previous = {name: os.environ.get(name) for name in values}
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _day_end(day: date) -> datetime:
    """When ``day``'s files were complete: the moment a replay of it is judged as of (freshness checks)."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)


def _process(workspace: Workspace, landing: Landing, say: Say, *, checked_at: datetime | None = None) -> pa.Table:
    """Run the mesh over what landed; mark the days done and remember the chart they gave.

    A day of history is checked as of its end, as its daily run would have been: a week of it
    publishes every day, though the gate's freshness checks (``maxAge: 3d``) judge by the day.
    """
    _run_all(workspace, say, checked_at=checked_at)
    chart = workspace.read(CHART)
    finished = datetime.now(UTC).isoformat()
    for record in landing.days:
        if record.finished_at is None:
            record.finished_at = finished
            record.chart_digest = digest(chart)
    landing.save()
    return chart


def _run_all(workspace: Workspace, say: Say, *, checked_at: datetime | None = None) -> list[RunResult]:
    results: list[RunResult] = []
    failures: list[HexmeshError] = []
    for outcome in workspace.run_all(checked_at=checked_at):
        if isinstance(outcome, HexmeshError):
            failures.append(outcome)
            continue
        results.append(outcome)
        rows = ", ".join(f"{port}: {n:,} rows" for port, n in outcome.rows.items())
        say(f"  {outcome.status} {outcome.product}" + (f" ({rows})" if rows else f": {outcome.message}"))
    if failures:
        raise HexmeshError(
            f"{len(failures)} product(s) of the example mesh failed:\n"
            + "\n".join(f"  - {failure}" for failure in failures)
        )
    return results


def _time_travel(workspace: Workspace, landing: Landing, result: DemoResult) -> None:
    """Read the chart as of the end of the day before the last, and now."""
    finished = [d for d in landing.days if d.finished_at]
    if len(finished) < 2:
        return
    before = finished[-2]
    assert before.finished_at is not None
    result.checkpoint = datetime.fromisoformat(before.finished_at)
    result.chart_as_of = workspace.read(CHART, ReadRequest(as_of=result.checkpoint))
    result.chart_now = workspace.read(CHART)
    result.unchanged = digest(result.chart_as_of) == before.chart_digest
