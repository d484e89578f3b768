"""Render ``hexmesh status``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from hexmesh.cli.render import console, iso, moment
from hexmesh.spec.duration import human_seconds

if TYPE_CHECKING:
    from hexmesh.lifecycle import ProductStatus

__all__ = ["show_status", "status_document"]


def status_document(report: ProductStatus) -> dict[str, object]:
    """``hexmesh status --json``: the same facts with stable field names, full ids and ISO times."""
    spec = report.product.spec
    return {
        "product": spec.key,
        "version": report.product.record.version,
        "status": spec.status,
        "owner": spec.owner,
        "paused": report.paused,
        "versions": [v.version for v in report.versions],
        "majors": [
            {
                "major": s.major,
                "status": s.status,
                "sunset": s.sunset.isoformat() if s.sunset else None,
                "successor": s.successor,
                "consumers": list(s.consumers),
            }
            for s in report.majors
        ],
        "ports": [
            {
                "address": p.address,
                "table": p.table,
                "snapshots": len(p.publications),
                "latest_snapshot": p.publications[-1].snapshot_id if p.publications else None,
                "rows": p.publications[-1].rows if p.publications else None,
                "published": iso(p.publications[-1].published_us) if p.publications else None,
            }
            for p in report.ports
        ],
        "runs": [
            {
                "id": r.id,
                "status": r.status,
                "version": r.version,
                "trigger": r.trigger,
                "started": iso(r.started_us),
                "finished": iso(r.finished_us),
                "duration_s": (r.finished_us - r.started_us) / 1e6 if r.finished_us else None,
                "rows": r.details.get("rows") or {},
                "error": r.error,
            }
            for r in report.runs
        ],
    }


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
    for column in ("run", "status", "version", "trigger", "started", "duration", "rows", "error"):
        runs.add_column(column, no_wrap=column == "run")
    for run in report.runs:
        color = {"succeeded": "green", "failed": "red", "running": "yellow"}.get(run.status, "white")
        rows = run.details.get("rows") or {}
        runs.add_row(
            run.id,  # in full: `hexmesh` commands and the control port take it
            f"[{color}]{run.status}[/]",
            run.version,
            run.trigger,
            moment(run.started_us),
            human_seconds((run.finished_us - run.started_us) / 1e6) if run.finished_us else "—",
            ", ".join(f"{port}: {n:,}" for port, n in rows.items()) or "—",
            (run.error or "").split("\n")[0][:80],
        )
    console.print(runs, crop=False)
