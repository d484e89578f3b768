"""Rendering helpers for the CLI: tables, times, run outcomes."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
from rich.console import Console
from rich.table import Table

from hexmesh.lifecycle import RunResult

__all__ = ["arrow_table", "console", "err", "moment", "parse_moment", "run_outcome"]

console = Console()
err = Console(stderr=True)


def moment(us: int | None) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC") if us else "—"


def parse_moment(text: str | None, option: str) -> datetime | None:
    """Parse an ISO 8601 date or timestamp given on the command line (naive means UTC)."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        import typer

        raise typer.BadParameter(
            f"{text!r} is not an ISO 8601 time; write 2026-11-24 or 2026-11-24T13:00:00Z", param_hint=option
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def arrow_table(table: pa.Table, limit: int, title: str) -> Table:
    view = Table(title=title, header_style="bold cyan")
    for name in table.column_names:
        view.add_column(name)
    for row in table.slice(0, limit).to_pylist():
        view.add_row(*("∅" if v is None else str(v) for v in row.values()))
    if table.num_rows > limit:
        view.caption = f"{limit} of {table.num_rows} rows shown (use --limit, or --format csv)"
    else:
        view.caption = f"{table.num_rows} rows"
    return view


def run_outcome(result: RunResult) -> str:
    if result.status == "paused":
        return f"[yellow]paused[/] {result.product} {result.version}: {result.message}"
    if result.status == "skipped":
        return f"[yellow]skipped[/] {result.product} {result.version}: {result.message}"
    rows = ", ".join(f"{port}: {n} rows" for port, n in result.rows.items())
    when = result.published_at.isoformat() if result.published_at else ""
    return f"[green]published[/] {result.product} {result.version} ({rows}) at {when}"
