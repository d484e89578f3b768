"""Rendering helpers for the CLI: tables, times, run outcomes."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    import pyarrow as pa

    from hexmesh.lifecycle import RuleWarning, RunResult

__all__ = [
    "arrow_table",
    "console",
    "err",
    "iso",
    "moment",
    "parse_moment",
    "records",
    "rule_warnings",
    "run_outcome",
]

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


def rule_warnings(warnings: list[RuleWarning]) -> None:
    """The rules' warnings on stderr, once each, grouped by rule, each at its ``file:line:col``."""
    if not warnings:
        return
    groups: dict[tuple[str, str], list[RuleWarning]] = {}
    for warning in warnings:
        groups.setdefault((warning.rule, warning.message), []).append(warning)
    count = len(warnings)
    err.print(
        f"[yellow]{count} warning{'s' if count != 1 else ''}[/] of {len(groups)} rule(s) (--quiet hides them):",
        highlight=False,
    )
    for (rule, message), members in groups.items():
        err.print(f"  [bold]{rule}[/]: {escape(message)}", highlight=False)
        for warning in members:
            err.print(f"    {warning.location}  {warning.where}", highlight=False, markup=False, soft_wrap=True)


def iso(us: int | None) -> str | None:
    """A time for JSON output: ISO 8601 in UTC with microseconds, or None."""
    return None if us is None else datetime.fromtimestamp(us / 1e6, UTC).isoformat()


def records(
    rows: list[dict[str, object]],
    *,
    as_json: bool,
    full: tuple[str, ...] = (),
    empty: str = "",
    headers: dict[str, str] | None = None,
) -> None:
    """Print rows as a table, or with ``--json`` as one JSON array whose field names are the keys.

    Columns in ``full`` (ids and names later commands take) are never shortened or wrapped.
    ``headers`` names a column for people where its JSON field name would mislead.
    """
    if as_json:
        import json

        sys.stdout.write(json.dumps(rows, default=str, indent=2) + "\n")
        return
    if not rows:
        if empty:
            console.print(empty)
        return
    view = Table(header_style="bold cyan")
    for name in rows[0]:
        if name in full:
            width = max(len(str(row[name])) for row in rows)
        else:  # a narrow terminal wraps a cell at its spaces rather than cutting a word short
            width = min(16, max(len(word) for row in rows for word in [*str(row[name]).split(), "-"]))
        header = (headers or {}).get(name, name.replace("_", " "))
        view.add_column(header, no_wrap=name in full, min_width=width, overflow="fold")
    for row in rows:
        view.add_row(*("-" if value is None else str(value) for value in row.values()))
    console.print(view, crop=False)  # wider than the terminal: let it wrap, never hide a column
