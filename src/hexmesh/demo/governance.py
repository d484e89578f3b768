"""The demo's governance tour: masking, an access request and a synthetic variant, on the real policy code.

Called by ``hexmesh demo`` once the example mesh has run. Every step goes through what a port
uses (API token → principal, the policy sidecar's read plans, access requests, audit), so what
it prints is what a consumer would get, not canned text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from rich.table import Table

from hexmesh.governance import AccessDeniedError, Principal
from hexmesh.lifecycle import OutputPortReader, Stewardship, Workspace

__all__ = ["GovernanceTour", "governance_tour"]

Say = Callable[[Any], None]
PROFILES = ("users/user-profiles", "profiles")
PLAYS = ("podcasts/play-events", "plays")
#: The consumer of the tour: an analyst, with the access the example policies give ``analytics``.
CONSUMER = Principal("ana@example.com", "User", frozenset({"analytics"}))
PURPOSE = "retention-study"
SHOWN = 5


@dataclass
class GovernanceTour:
    """What the tour showed (tests read it)."""

    consumer: Principal
    owner_view: pa.Table
    """A few profiles as their owner sees them."""
    consumer_view: pa.Table
    """The same profiles as the consumer sees them (masked, pseudonymized, hidden columns)."""
    hidden: tuple[str, ...]
    refused: str
    """Why the consumer's first read of the plays was refused."""
    request_id: str
    granted: pa.Table
    """Plays read after the owner approved the request."""
    synthetic: pa.Table
    """Synthetic profiles fitted on what the consumer may see."""
    real_shares: dict[str, dict[str, float]] = field(default_factory=dict)
    synthetic_shares: dict[str, dict[str, float]] = field(default_factory=dict)


def governance_tour(workspace: Workspace, say: Say) -> GovernanceTour:
    """Show masking, an access request and a synthetic variant on the deployed example mesh."""
    stewardship = workspace.stewardship
    secret, info = stewardship.create_token(CONSUMER, name="demo governance tour")
    try:
        consumer = stewardship.authenticate(secret)  # the path a port takes for a bearer token or SQL password
        say("")
        say(f"[bold]Governance[/bold]: {consumer.id} (group analytics) signs in with an API token ({info.id}).")
        return _tour(workspace, stewardship, consumer, say)
    finally:
        stewardship.revoke_token(info.id)  # the tour's credential does not outlive it


def _tour(workspace: Workspace, stewardship: Stewardship, consumer: Principal, say: Say) -> GovernanceTour:
    # 1. Masking: the same profiles, as the owner and as the analyst see them.
    reader = workspace.reader(f"dp://{PROFILES[0]}/{PROFILES[1]}")
    profiles = reader.product
    owner = Principal(profiles.spec.owner, "User")
    rows, key = _snapshot(workspace, reader)
    sample = rows.sort_by("user_id").slice(0, SHOWN)
    owner_view = stewardship.shaped(owner, profiles, PROFILES[1], sample, via="demo")
    consumer_view = stewardship.shaped(consumer, profiles, PROFILES[1], sample, via="demo")
    hidden = tuple(c for c in owner_view.column_names if c not in consumer_view.column_names)
    say(_table(f"{reader.address} as its owner ({owner.id}) sees it", owner_view))
    say(_table(f"the same rows as {consumer.id} sees them (hidden: {', '.join(hidden) or 'none'})", consumer_view))

    # 2. An access request: refused, asked for with a purpose, approved by the owner, then allowed.
    plays_reader = workspace.reader(f"dp://{PLAYS[0]}/{PLAYS[1]}")
    plays = plays_reader.product
    plays_sample = workspace.read(plays_reader.address).sort_by("play_id").slice(0, SHOWN)
    plays_owner = Principal(plays.spec.owner, "User")
    _revoke_earlier_grants(stewardship, plays_owner)  # a demo run twice tells the same story
    try:
        stewardship.shaped(consumer, plays, PLAYS[1], plays_sample, purpose=PURPOSE, via="demo")
        refused = ""  # a mesh policy lets analysts read plays already: nothing to ask for
    except AccessDeniedError as exc:
        refused = str(exc)
    say(f"{consumer.id} reads {plays_reader.address}: [red]refused[/red] ({refused.split('. Ask')[0]})")
    request = stewardship.request_access(
        consumer, PLAYS[0], PLAYS[1], PURPOSE, note="how long do new listeners keep listening?"
    )
    say(f"{consumer.id} asks for access for the purpose {PURPOSE!r}: request {request.id} ({request.status})")
    decided = stewardship.decide(request.id, plays_owner, "approve", note="approved for the study")
    say(f"{plays_owner.id} approves it ({decided.status}, for {PURPOSE!r} only)")
    granted = stewardship.shaped(consumer, plays, PLAYS[1], plays_sample, purpose=PURPOSE, via="demo")
    say(_table(f"{plays_reader.address} read again for {PURPOSE!r}: allowed, IP and country redacted", granted))

    # 3. The synthetic variant: rows fitted on what the consumer may see, no row of which is real.
    synthetic = stewardship.shaped(consumer, profiles, PROFILES[1], rows, variant="synthetic", via="demo", snapshot=key)
    visible = stewardship.shaped(consumer, profiles, PROFILES[1], rows, via="demo")
    columns = [c for c in ("plan", "signup_platform", "region") if c in synthetic.column_names]
    real_shares = {c: _shares(visible[c]) for c in columns}
    synthetic_shares = {c: _shares(synthetic[c]) for c in columns}
    say(
        _table(
            f"synthetic {PROFILES[1]} ({synthetic.num_rows} rows, fitted on {consumer.id}'s view)",
            synthetic.slice(0, SHOWN),
        )
    )
    say(_shares_table(real_shares, synthetic_shares, visible.num_rows, synthetic.num_rows))
    say(f"Every step above is in the audit log: hexmesh audit --actor {consumer.key}")
    return GovernanceTour(
        consumer,
        owner_view,
        consumer_view,
        hidden,
        refused,
        request.id,
        granted,
        synthetic,
        real_shares,
        synthetic_shares,
    )


def _snapshot(workspace: Workspace, reader: OutputPortReader) -> tuple[pa.Table, tuple[Any, ...]]:
    """The newest published rows of a port (read by the demo as the workspace's root) and their cache key."""
    publication = reader.publication()
    snapshot = publication.snapshot_id if publication else None
    return workspace.read(reader.address), (tuple(reader.record.table_id), snapshot)


def _revoke_earlier_grants(stewardship: Stewardship, owner: Principal) -> None:
    for earlier in stewardship.requests(product=PLAYS[0], status="approved", principal_id=CONSUMER.id):
        stewardship.decide(earlier.id, owner, "revoke", note="the demo starts the story again")


def _shares(column: pa.ChunkedArray) -> dict[str, float]:
    counts = pc.value_counts(column.drop_null()).to_pylist()
    total = sum(int(c["counts"]) for c in counts) or 1
    return {str(c["values"]): int(c["counts"]) / total for c in sorted(counts, key=lambda c: str(c["values"]))}


def _table(title: str, data: pa.Table) -> Table:
    table = Table(title=title, title_justify="left")
    for name in data.column_names:
        table.add_column(name, overflow="fold")
    for row in data.to_pylist():
        table.add_row(*("∅" if v is None else str(v) for v in row.values()))
    return table


def _shares_table(
    real: dict[str, dict[str, float]], synthetic: dict[str, dict[str, float]], real_rows: int, synthetic_rows: int
) -> Table:
    table = Table(title="shares: real rows vs synthetic rows", title_justify="left")
    for name in ("column", "value", f"real ({real_rows} rows)", f"synthetic ({synthetic_rows} rows)"):
        table.add_column(name)
    for column, shares in real.items():
        for value, share in shares.items():
            table.add_row(column, value, f"{share:.1%}", f"{synthetic[column].get(value, 0.0):.1%}")
    return table
