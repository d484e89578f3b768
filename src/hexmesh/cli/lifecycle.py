"""Lifecycle commands: plan, deprecate, retire, backfill, notices, schedule."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from hexmesh.cli import documents
from hexmesh.cli.common import Home, Token, errors, product_key, workspace
from hexmesh.cli.render import console, err, iso, moment, parse_moment, records, run_outcome
from hexmesh.errors import DeployError

if TYPE_CHECKING:
    from hexmesh.lifecycle import Attempt, LifecycleState, Plan

__all__ = ["COMMANDS"]


def plan(
    paths: Annotated[list[Path], typer.Argument(help="Product folders, spec files or mesh folders.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON (for CI).")] = False,
    check: Annotated[
        bool, typer.Option("--check", help=f"Exit {DeployError.exit_code} if deploy would refuse a product.")
    ] = False,
    home: Home = None,
) -> None:
    """Compare specs with what is deployed: every change, breaking or compatible, and why."""
    with errors():
        plans = workspace(home).plan(paths)
    if as_json:
        typer.echo(json.dumps([p.as_dict() for p in plans], indent=2))
    else:
        for item in plans:
            _show_plan(item)
    if check and any(p.refusal for p in plans):
        raise typer.Exit(DeployError.exit_code)


def _show_plan(item: Plan) -> None:
    if item.baseline is None:
        if item.refusal:
            console.print(f"[bold]{item.product}[/] {item.version}: new product, [red]refused[/]")
            console.print(item.refusal, highlight=False, markup=False)
        else:
            console.print(f"[bold]{item.product}[/] {item.version}: [green]new product[/]")
        return
    head = f"[bold]{item.product}[/] {item.baseline} → {item.version}"
    if item.already_deployed and not item.problems:
        console.print(f"{head}: already deployed")
        return
    verdict = "[red]refused[/]" if item.refusal else "[green]deployable[/]"
    kind = " (new major: deploys beside the old one)" if item.new_major else ""
    console.print(f"{head}{kind}: {verdict}, {len(item.breaking)} breaking, {len(item.changes)} change(s)")
    if item.changes:
        view = Table(header_style="bold cyan")
        for column in ("kind", "where", "change", "reason", "consequence"):
            view.add_column(column)
        for change in item.changes:
            color = "red" if change.breaking else "green"
            view.add_row(
                f"[{color}]{change.kind}[/]",
                escape(change.where),
                escape(change.what),
                escape(change.reason),
                escape(change.consequence),
            )
        console.print(view)
    if item.first_run and not item.refusal:
        console.print(f"then: {escape(item.first_run)}", highlight=False)
    if item.refusal:
        err.print(item.refusal, highlight=False, markup=False, soft_wrap=True)


def _show_state(state: LifecycleState) -> None:
    parts = [f"[bold]{state.product}@{state.major}[/]: {state.status}"]
    if state.sunset:
        parts.append(f"sunset {state.sunset.isoformat()}")
    if state.successor:
        parts.append(f"successor {state.successor}")
    if state.status == "retired":
        parts.append(f"retention {state.retention}")
    console.print(", ".join(parts))
    if state.consumers:
        console.print(f"consumers told: {', '.join(state.consumers)}")


def deprecate(
    product: Annotated[str, typer.Argument(help="domain/product or domain/product@major")],
    sunset: Annotated[str, typer.Option(help="The date it stops serving (YYYY-MM-DD).")],
    successor: Annotated[str | None, typer.Option(help="What to use instead: dp://domain/product@2")] = None,
    reason: Annotated[str | None, typer.Option(help="Why, for the consumers' notices.")] = None,
    token: Token = None,
    home: Home = None,
    as_json: documents.Json = False,
) -> None:
    """Deprecate a product major: set a sunset date and successor, and tell every consumer.

    Needs the workspace's root, or the token of the product's owner or an operator.
    """
    try:
        day = date.fromisoformat(sunset)
    except ValueError:
        raise typer.BadParameter(f"{sunset!r} is not a date; write YYYY-MM-DD", param_hint="--sunset") from None
    with errors():
        key = product_key(product)
        opened = workspace(home)
        actor = opened.stewardship.administer(token, "deprecate", key)
        state = opened.deprecate(product, sunset=day, successor=successor, reason=reason)
        opened.stewardship.record(actor, "deprecate", key, {"ref": product, "sunset": sunset, "successor": successor})
    if as_json:
        documents.emit(state.as_dict())
        return
    _show_state(state)


def retire(
    product: Annotated[str, typer.Argument(help="domain/product@major")],
    force: Annotated[bool, typer.Option(help="Retire even while products still read it.")] = False,
    token: Token = None,
    home: Home = None,
    as_json: documents.Json = False,
) -> None:
    """Stop serving a product major; keep or delete its data as its spec's retention says.

    The replication slots and publications of its CDC inputs (mode: cdc) are dropped. Needs the
    workspace's root, or the token of the product's owner or an operator.
    """
    with errors():
        key = product_key(product)
        opened = workspace(home)
        actor = opened.stewardship.administer(token, "retire", key)
        state = opened.retire(product, force=force)
        opened.stewardship.record(actor, "retire", key, {"ref": product, "force": force, "dependents": state.consumers})
    if as_json:  # details hold the dependents read while forced, dropped slots and slot errors
        documents.emit(state.as_dict())
        return
    _show_state(state)
    forced = state.details.get("dependents") or []
    if forced:
        err.print(f"[yellow]retired while still read by:[/] {', '.join(forced)}", highlight=False)
    for slot in state.details.get("dropped_slots") or []:
        console.print(f"dropped replication slot and publication {slot}", highlight=False)
    for problem in state.details.get("slot_errors") or []:  # a slot left behind keeps WAL on its server
        err.print(f"[yellow]warning:[/] {escape(problem)}", highlight=False)


def backfill(
    product: Annotated[str, typer.Argument(help="domain/product or domain/product@major")],
    since: Annotated[str, typer.Option(help="Event time from (inclusive, ISO 8601).")],
    until: Annotated[str, typer.Option(help="Event time until (exclusive, ISO 8601).")],
    wait: Annotated[float, typer.Option(help="Seconds to wait if the product is running.")] = 0.0,
    force: Annotated[bool, typer.Option(help="Backfill a paused product once (it stays paused).")] = False,
    token: Token = None,
    home: Home = None,
    as_json: documents.Json = False,
) -> None:
    """Recompute an event-time window from all input and publish it as a new snapshot.

    Needs the workspace's root, or the token of the product's owner or an operator. A paused
    product is refused unless --force, as by hexmesh run.
    """
    low, high = parse_moment(since, "--since"), parse_moment(until, "--until")
    assert low is not None and high is not None
    with errors():
        key = product_key(product)
        opened = workspace(home)
        actor = opened.stewardship.administer(token, "backfill", key)
        result = opened.backfill(product, since=low, until=high, wait=wait, force=force)
        detail = {"ref": product, "since": since, "until": until, "run": result.run_id, "force": force}
        opened.stewardship.record(actor, "backfill", key, detail)
    if as_json:
        documents.emit(documents.run(result))
    else:
        console.print(run_outcome(result))


def notices(
    product: Annotated[str | None, typer.Argument(help="A consumer: domain/product (default all).")] = None,
    home: Home = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array (stable field names).")] = False,
) -> None:
    """Show notices sent to consumers (deprecations and retirements of what they read)."""
    with errors():
        found = workspace(home).notices(product)
    rows: list[dict[str, object]] = [
        {
            "consumer": n.consumer,
            "about": f"{n.upstream}@{n.major}",
            "kind": n.kind,
            "message": n.message,
            "sent": iso(n.created_us) if as_json else moment(n.created_us),
        }
        for n in found
    ]
    records(rows, as_json=as_json, full=("consumer", "about"), empty="no notices")


def schedule(
    once: Annotated[bool, typer.Option(help="One pass, then exit.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between passes.")] = 5.0,
    home: Home = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per attempt and line (stable field names).")
    ] = False,
) -> None:
    """Run products when their upstreams publish or their cron fires (in the foreground)."""

    def show(attempt: Attempt) -> None:
        if as_json:  # a line per attempt: the scheduler runs on, so a stream, not one array
            typer.echo(json.dumps(documents.attempt(attempt)))
            return
        color = {"succeeded": "green", "failed": "red", "busy": "yellow"}.get(attempt.status, "white")
        line = f"[{color}]{attempt.status}[/] {attempt.product}@{attempt.major} ({attempt.trigger}: {attempt.reason})"
        console.print(line + (f" — {attempt.error.splitlines()[0]}" if attempt.error else ""), highlight=False)

    with errors():
        scheduler = workspace(home).scheduler(poll_interval=interval, on_attempt=show)
        if once:
            scheduler.tick()
            scheduler.stop()
            return
        scheduler.start()
        try:
            while scheduler.running:
                time.sleep(0.5)
        except KeyboardInterrupt:
            err.print("stopping after the current run…")
        finally:
            scheduler.stop()


COMMANDS = [plan, deprecate, retire, backfill, notices, schedule]
