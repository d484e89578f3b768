"""Render ``hexmesh status``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from hexmesh.cli.render import console, moment

if TYPE_CHECKING:
    from hexmesh.lifecycle import ProductStatus

__all__ = ["show_status"]


def show_status(report: ProductStatus) -> None:
    spec = report.product.spec
    console.print(f"[bold]{spec.key}[/] {report.product.record.version} ({spec.status}) — {spec.owner}")
    if spec.description:
        console.print(spec.description)
    if report.paused:
        console.print(
            "[yellow]paused[/]: the scheduler skips it and `hexmesh run` refuses it until it is resumed "
            "(POST .../control/resume)",
            highlight=False,
        )
    versions = ", ".join(v.version for v in report.versions)
    console.print(f"versions: {versions}")
    for state in report.majors:
        line = f"major {state.major}: {state.status}"
        if state.sunset:
            line += f", sunset {state.sunset.isoformat()}"
        if state.successor:
            line += f", successor {state.successor}"
        if state.status == "retired":
            line += f", data {'deleted' if state.retention == 'delete' else 'kept'}"
        if state.consumers:
            line += f" — read by {', '.join(state.consumers)}"
        console.print(line, highlight=False)
    ports = Table(title="output ports", header_style="bold cyan")
    for column in ("port", "table", "snapshots", "latest snapshot", "rows", "published"):
        ports.add_column(column)
    for port in report.ports:
        latest = port.publications[-1] if port.publications else None
        ports.add_row(
            port.address,
            port.table,
            str(len(port.publications)),
            str(latest.snapshot_id) if latest else "—",
            str(latest.rows) if latest else "—",
            moment(latest.published_us) if latest else "never",
        )
    console.print(ports)
    runs = Table(title="recent runs", header_style="bold cyan")
    for column in ("run", "status", "version", "trigger", "started", "finished", "error"):
        runs.add_column(column)
    for run in report.runs:
        color = {"succeeded": "green", "failed": "red", "running": "yellow"}.get(run.status, "white")
        runs.add_row(
            run.id[:8],
            f"[{color}]{run.status}[/]",
            run.version,
            run.trigger,
            moment(run.started_us),
            moment(run.finished_us),
            (run.error or "").split("\n")[0][:80],
        )
    console.print(runs)
