"""The end of ``hexmesh demo``: what was published, and where to look next."""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from hexmesh.demo.deliveries import CHART, Landing
from hexmesh.infra.settings import HOME_ENV
from hexmesh.lifecycle import Workspace

if TYPE_CHECKING:
    from hexmesh.demo.run import DemoResult

Say = Callable[[Any], None]

__all__ = ["PortRow", "Summary", "show_summary"]


@dataclass(frozen=True)
class PortRow:
    """One output port as the summary shows it."""

    product: str
    address: str
    kind: str
    snapshots: int
    rows: int


@dataclass(frozen=True)
class Summary:
    """Everything the summary prints, gathered from the workspace."""

    home: Path
    ports: list[PortRow]
    landing: Landing
    result: DemoResult
    #: The day the lifecycle scene lands after the summary, if it lands one: the user will have it too.
    coming: date | None = None

    @classmethod
    def collect(
        cls, workspace: Workspace, landing: Landing, result: DemoResult, *, coming: date | None = None
    ) -> Summary:
        rows = []
        for key, product in sorted(workspace.deployed().items()):
            kind = next((t for t in product.spec.tags if t.endswith("-aligned")), "")
            for port in workspace.status(key).ports:
                served = port.publications
                spec = product.output(port.name)
                # An append port serves every snapshot's rows; a replace port only the latest.
                total = (served[-1].rows if served else 0) if spec.mode == "replace" else sum(p.rows for p in served)
                rows.append(PortRow(key, port.address, kind, len(served), total))
        return cls(workspace.settings.home, rows, landing, result, coming)


def _home_option(home: Path) -> str:
    default = Path(".hexmesh").resolve() == home and not os.environ.get(HOME_ENV)
    return "" if default else f" --home {shlex.quote(str(home))}"


def _command(say: Say, line: str) -> None:
    """Show a shell command on one line, so it can be copied from a narrow terminal in one piece."""
    console = getattr(say, "__self__", None)
    if isinstance(console, Console):  # rich would wrap it (or crop a renderable) at the width
        console.print(f"  {line}", soft_wrap=True, markup=False, highlight=False)
    else:
        say(f"  {line}")


def show_summary(summary: Summary, say: Say) -> None:
    """Print the products, then the commands to explore them."""
    home = _home_option(summary.home)
    view = Table(title="The podcast mesh", header_style="bold cyan")
    for column in ("output port", "kind", "snapshots", "rows"):
        view.add_column(column, justify="right" if column in ("snapshots", "rows") else "left")
    for row in summary.ports:
        view.add_row(row.address, row.kind, str(row.snapshots), f"{row.rows:,}")
    say(view)
    say(
        f"Workspace {summary.home}: {_days(summary)} at scale {summary.landing.scale}, "
        f"operational files in {summary.landing.folder}."
    )
    say("\n[bold]Where to look next[/]")
    _command(say, f"hexmesh list{home}")
    for row in summary.ports:
        _command(say, f"hexmesh read {row.address}{home}")
    _command(say, f"hexmesh status podcasts/top-podcasts-daily{home}")
    say("Run the mesh again yourself (its sources read $HEXMESH_HOME/landing):")
    _command(say, f"HEXMESH_HOME={shlex.quote(str(summary.home))} hexmesh run --all")
    _show_time_travel(summary, home, say)
    _show_serving(summary, home, say)


def _days(summary: Summary) -> str:
    """The days of data the user will have once the demo ends, counting the one the lifecycle scene lands."""
    days = [d.day for d in summary.landing.days]
    coming = summary.coming.isoformat() if summary.coming else None
    if coming:
        days.append(coming)
    count = f"{len(days)} day{'s' if len(days) > 1 else ''} of data"
    span = days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}"
    scene = f"; the lifecycle scene below lands {coming}" if coming else ""
    return f"{count} ({span}{scene})"


def _show_serving(summary: Summary, home: str, say: Say) -> None:
    """How to reach every port once the node runs (default ports of ``hexmesh serve``), with a token."""
    base = "http://127.0.0.1:8080"
    port = f"{base}/products/podcasts/play-events/ports/plays"
    auth = '-H "Authorization: Bearer $HEXMESH_TOKEN"'
    say("\n[bold]Serve the mesh[/] (one node: HTTP, SQL, events, scheduler; every port enforces the policies):")
    _command(say, f"hexmesh serve{home}")
    say(
        "Discovery is public in this mesh, and so is the daily chart; anything else needs an API token. "
        "Make one for an analyst (group podcasts-analytics may read the plays, IP addresses redacted):"
    )
    _command(
        say,
        f"export HEXMESH_TOKEN=$(hexmesh token create ana@example.com --group podcasts-analytics "
        f"--ttl 7d --quiet{home})",
    )
    for line in (
        f"web UI:         {base}/ui   (sign in with the token to see what it may read)",
        f"discovery:      curl {base}/products/podcasts/play-events",
        f"public chart:   curl '{base}/products/podcasts/top-podcasts-daily/ports/chart/data?format=csv'",
        'SQL:            PGPASSWORD=$HEXMESH_TOKEN psql "postgresql://ana@127.0.0.1:5433/hexmesh?sslmode=require" '
        "-c 'table podcasts.play_events__plays limit 5'",
        f"files:          curl {auth} '{port}/data?format=parquet' -o plays.parquet",
        f"events (SSE):   curl -N {auth} {port}/events",
        f"observability:  curl {auth} {base}/products/podcasts/play-events/observability",
        f"Python:         hexmesh.connect('{base}').port('dp://podcasts/play-events/plays').read()  "
        "# uses $HEXMESH_TOKEN",
    ):
        _command(say, line)
    say(
        "The owner sees every column: hexmesh token create player-team@example.com --ttl 1d"
        f"{home}. Without tokens: hexmesh serve --no-auth (everything to anyone on this machine)."
    )


def _show_time_travel(summary: Summary, home: str, say: Say) -> None:
    result = summary.result
    if result.checkpoint is None or result.chart_as_of is None or result.chart_now is None:
        say("\nTime travel needs two days of data: run `hexmesh demo --days 2`.")
        return
    moment = result.checkpoint.isoformat()
    verdict = "identical to" if result.unchanged else "[bold red]DIFFERENT from[/]"
    say("\n[bold]Time travel[/]: yesterday's answer never changes.")
    say(
        f"  As of {moment} the chart had {result.chart_as_of.num_rows} rows, {verdict} what was "
        f"published then; now it has {result.chart_now.num_rows} rows."
    )
    _command(say, f"hexmesh read {CHART} --as-of {moment}{home}")
    _command(say, f"hexmesh read {CHART}{home}")
