"""Backfill: recompute an event-time window of every output port and publish it as a new snapshot.

The run reads every input from the start (not from the last position), transforms, keeps the
output rows inside ``[since, until)``, and joins them to the currently published rows outside
the window. The result is published as one overwrite snapshot per port: the corrected window
replaces the old one, and every earlier snapshot still answers exactly as it did.

The merge streams: the published rows outside the window, then the recomputed rows inside it,
go batch by batch into the run's candidate file, so a backfill's memory does not grow with the
port's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hexmesh.errors import ReadError
from hexmesh.infra.compute import RunFolder
from hexmesh.product.candidate import Candidate
from hexmesh.product.deployed import DeployedProduct
from hexmesh.product.policy.door import unrestricted_batches
from hexmesh.product.policy.sidecar import PolicySidecar
from hexmesh.product.runtime import Runtime

__all__ = ["EventWindow", "merge_window"]


@dataclass(frozen=True)
class EventWindow:
    """An event-time window ``[since, until)``."""

    since: date | datetime
    until: date | datetime

    def __post_init__(self) -> None:
        if _instant(self.since) >= _instant(self.until):
            raise ReadError(f"since ({self.since}) must be before until ({self.until}); the window is [since, until)")

    def as_dict(self) -> dict[str, str]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat()}


def _instant(value: date | datetime) -> datetime:
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _inside(table: pa.Table, column: str, window: EventWindow) -> pa.ChunkedArray:
    values = table.column(column)
    if pa.types.is_date(values.type):
        low: object = _instant(window.since).date()
        high: object = _instant(window.until).date()
    else:
        low, high = _instant(window.since), _instant(window.until)
    low_scalar, high_scalar = pa.scalar(low, values.type), pa.scalar(high, values.type)
    mask = pc.and_(pc.greater_equal(values, low_scalar), pc.less(values, high_scalar))
    return pc.fill_null(mask, False)


def merge_window(
    runtime: Runtime,
    product: DeployedProduct,
    candidates: dict[str, Candidate],
    window: EventWindow,
    folder: RunFolder,
) -> dict[str, Candidate]:
    """Each port's published rows outside ``window`` plus the recomputed rows inside it, as new candidates."""
    merged = {}
    for name, candidate in candidates.items():
        event = product.output(name).event_time
        if event is None:
            raise ReadError(
                f"port {name!r} of {product.key} declares no eventTime, so it has no event-time "
                "window to backfill; add eventTime to the port, or run the product normally"
            )
        schema, rows = candidate.schema, 0
        # Restricted fields stay sealed as stored: a forgotten subject's values are carried, unreadable.
        current = unrestricted_batches(PolicySidecar(runtime), product, name, actor=f"backfill:{product.key}")
        path = folder.candidate(name) / "candidate-merged.parquet"
        with pq.ParquetWriter(path, schema) as writer:
            for batch in current:
                stored = pa.Table.from_batches([batch])
                kept = stored.filter(pc.invert(_inside(stored, event, window)))
                writer.write_table(kept.select(schema.names).cast(schema))
                rows += kept.num_rows
            for batch in candidate.batches():
                recomputed = pa.Table.from_batches([batch])
                fresh = recomputed.filter(_inside(recomputed, event, window))
                writer.write_table(fresh)
                rows += fresh.num_rows
        merged[name] = Candidate(name, (str(path),), schema, rows)
    return merged
