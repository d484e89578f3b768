"""One read through the door (:mod:`.door`): who reads which port, at which snapshot, which rows and columns, and why.

A :class:`PortRead` is built once where a read comes in — an HTTP route, the UI's preview, the CLI, a
product's input, a contract test — and carried as one value through planning, audit and shaping, so
the door's ways to hand over a view (Arrow batches, a table, Parquet files) take the same thing::

    read = PortRead(product, principal, "plays", via="engine", snapshot_id=pinned, window=Window(after_snapshot=last))
    with shaped_files(sidecar, read, folder=run_dir) as shaped: ...
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal

from hexmesh.product.ports import ReadRequest

if TYPE_CHECKING:
    from hexmesh.governance import Principal
    from hexmesh.product.deployed import DeployedProduct

__all__ = ["PortRead", "Variant", "Window"]

#: ``rows`` refuses a synthetic-only principal; ``synthetic`` asks for synthetic rows even where rows are allowed.
Variant = Literal["rows", "synthetic"]


@dataclass(frozen=True)
class Window:
    """Which rows of the snapshot: an event-time window ``[since, until)`` and/or those published
    after snapshot ``after_snapshot`` (an incremental reader's last position)."""

    since: datetime | date | None = None
    until: datetime | date | None = None
    after_snapshot: int | None = None

    @property
    def by_event_time(self) -> bool:
        return self.since is not None or self.until is not None


@dataclass(frozen=True)
class PortRead:
    """``principal`` reads ``port`` of ``product``; the rest narrows what it asks for.

    ``via`` names the way the read came (``files``, ``input``, ``ui``, ``cli``, ``contract``,
    ``engine``…): the audit log records each decision under it. ``snapshot_id`` pins a snapshot,
    else the one published at ``as_of`` (default: the latest) is read. ``window`` picks rows by event
    time and/or after a snapshot; ``columns`` projects the view (each must be one the principal may
    see); ``filter`` (pyiceberg's syntax, as on the files port) acts on the rows as the principal sees
    them. ``purpose`` is why it reads (a grant may be for one purpose only). ``variant``: None reads
    what the plan allows (rows, or the synthetic variant for a synthetic-only principal).
    """

    product: DeployedProduct
    principal: Principal
    port: str
    _: KW_ONLY
    via: str
    snapshot_id: int | None = None
    as_of: datetime | None = None
    window: Window | None = None
    columns: tuple[str, ...] | None = None
    filter: str | None = None
    purpose: str = ""
    variant: Variant | None = None

    @property
    def address(self) -> str:
        return f"dp://{self.product.key}/{self.port}"

    @property
    def request(self) -> ReadRequest:
        """What the caller sent, as the shaping and the audit log take it (the window's snapshot
        bound is the door's own: it picks data files, not rows)."""
        window = self.window
        return ReadRequest(
            as_of=self.as_of,
            since=window.since if window else None,
            until=window.until if window else None,
            columns=self.columns,
            filter=self.filter,
        )

    @property
    def after_snapshot(self) -> int | None:
        return self.window.after_snapshot if self.window else None
