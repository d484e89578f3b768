"""The demo's lifecycle scene: a breaking change refused, two majors side by side, a day flowing down.

It plays on a small consumer product of its own, ``podcasts/chart-titles`` (the chart's day,
rank, title and plays), written under ``<home>/story`` so the example mesh itself is never
changed:

1. version 1.0.0 is deployed and run;
2. 1.1.0 removes the ``plays`` field: ``plan`` shows the breaking change and ``deploy`` refuses it;
3. the same change as 2.0.0 deploys as a new major: both majors serve, each read by address;
4. a new day lands: the source-aligned products read it, and one scheduler pass runs every
   dependent in dependency order (the order comes from the input ports, not from this code).

Once told, the scene is not told again in the same workspace (major 2 exists).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from hexmesh.demo.database import Registrations
from hexmesh.demo.deliveries import CHART, Landing, digest
from hexmesh.demo.embedded import SqliteRegistrations
from hexmesh.demo.generator import generate_day
from hexmesh.errors import DeployError
from hexmesh.lifecycle import Workspace

__all__ = ["PRODUCT", "tell_story"]

Say = Callable[[Any], None]
PRODUCT = "podcasts/chart-titles"
#: Source-aligned products: they read what landed; everything else follows through the scheduler.
SOURCES = ("users/user-profiles", "podcasts/play-events", "podcasts/podcast-catalog")

_SPEC = """\
domain: podcasts
name: chart-titles
version: {version}
owner: podcasts-analytics@example.com
description: The daily chart's titles, for the newsletter (the demo's lifecycle scene).
inputPorts:
  - {{name: chart, from: "dp://podcasts/top-podcasts-daily/chart", window: incremental}}
transformation: {{sql: transform.sql}}
outputPorts:
  - name: titles
    mode: append
    eventTime: day
    primaryKey: [day, rank]
    slo: {{freshness: 1d}}
    properties:
      - {{name: day, logicalType: date, required: true, classification: public, concept: "https://schema.org/Date"}}
      - {{name: rank, logicalType: integer, required: true, classification: public}}
      - {{name: title, logicalType: string, required: true, classification: public}}
{plays}"""
_PLAYS = "      - {name: plays, logicalType: integer, required: true, classification: public}\n"


def _write(folder: Path, version: str, *, plays: bool) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dataproduct.yaml").write_text(
        _SPEC.format(version=version, plays=_PLAYS if plays else ""), encoding="utf-8"
    )
    columns = "day, rank, title" + (", plays" if plays else "")
    (folder / "transform.sql").write_text(f"select {columns} from chart\n", encoding="utf-8")
    return folder


def told(workspace: Workspace) -> bool:
    """Whether this workspace has seen the scene (major 2 of its product exists)."""
    return any(v.major == 2 for v in workspace.runtime.state.versions(PRODUCT))


def tell_story(
    workspace: Workspace,
    landing: Landing,
    say: Say,
    *,
    day: date | None = None,
    registrations: Registrations | SqliteRegistrations | None = None,
) -> bool:
    """Play the lifecycle scene once per workspace; False when it was told already.

    ``day`` is the new day it lands (default: yesterday): a day that is over, so none of its plays
    lies ahead of the clock. When the landing has it already, the scene lands no day.
    """
    if told(workspace):
        say("Lifecycle scene: already played in this workspace (podcasts/chart-titles@2 exists).")
        return False
    say("\n[bold]Lifecycle scene[/]")
    folder = workspace.settings.home / "story" / "chart-titles"
    workspace.deploy([_write(folder, "1.0.0", plays=True)])
    workspace.run(PRODUCT)
    say(f"  deployed and ran {PRODUCT} 1.0.0 (day, rank, title, plays)")

    _write(folder, "1.1.0", plays=False)
    (plan,) = workspace.plan([folder])
    for change in plan.breaking:
        say(f"  plan 1.1.0: [red]breaking[/] {change.where}: {change.what}")
    try:
        workspace.deploy([folder])
    except DeployError as refused:
        say("  deploy 1.1.0: [red]refused[/] — " + "\n    ".join(str(refused).splitlines()))
    else:  # the rules changed under the demo: say so rather than pretend
        say("  deploy 1.1.0: [yellow]accepted[/] (the breaking-change rules did not refuse it)")

    _write(folder, "2.0.0", plays=False)
    workspace.deploy([folder])
    workspace.run(PRODUCT)
    one = workspace.read(f"dp://{PRODUCT}@1/titles")
    two = workspace.read(f"dp://{PRODUCT}@2/titles")
    say(f"  deployed 2.0.0 beside 1: @1 serves {one.num_rows} rows ({', '.join(one.column_names)})")
    say(f"                           @2 serves {two.num_rows} rows ({', '.join(two.column_names)})")

    day = day or datetime.now(UTC).date() - timedelta(days=1)
    last = landing.last_day
    if last is not None and day <= last:  # the next day is not over: landing it would bring plays still to come
        say(
            f"  no new day to land: every day up to {last} has landed and {last + timedelta(days=1)} is not over; "
            "hexmesh demo on a later day lands it and runs the mesh"
        )
        say(f"  see it again: hexmesh status {PRODUCT} · hexmesh read dp://{PRODUCT}@1/titles")
        return True
    generate_day(landing.folder, scale=landing.scale, day=day, seed=landing.seed, start=landing.first_day or day)
    if registrations is not None:  # the registration service records the day's sign-ups too
        registrations.load(landing.folder / "registrations" / f"{day}.jsonl")
    record = landing.record(day)
    landing.save()
    say(f"  day {day} landed; the source-aligned products read it:")
    for key in SOURCES:
        result = workspace.run(key)
        say(f"    {result.status} {key}")
    say("  one scheduler pass runs what is due, upstreams first:")
    scheduler = workspace.scheduler()
    try:
        for attempt in scheduler.tick():
            say(f"    {attempt.status} {attempt.product}@{attempt.major} ({attempt.reason})")
    finally:
        scheduler.stop()
    chart = workspace.read(CHART)
    record.finished_at = datetime.now(UTC).isoformat()
    record.chart_digest = digest(chart)
    landing.save()
    say(f"  see it again: hexmesh status {PRODUCT} · hexmesh read dp://{PRODUCT}@1/titles")
    return True
