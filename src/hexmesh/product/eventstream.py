"""Every published snapshot becomes CloudEvents 1.0 on its port's stream, one event per new row.

Event ids are ``<snapshot>-<row>``: stable, so re-emitting a snapshot (after a crash, or on
NATS) stores nothing twice. ``time`` is the row's event time; the processing time (when the
snapshot was published) is the ``processingtime`` extension attribute.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from hexmesh.infra.events import Event, EventLog, OffsetStore
from hexmesh.infra.state import Publication, from_us
from hexmesh.product.ports import OutputPortReader
from hexmesh.product.runtime import Runtime

__all__ = [
    "BATCH",
    "emit_publications",
    "json_value",
    "port_stream",
    "product_stream",
    "publication_marker",
    "row_events",
]

#: Events per append: bounds the memory one emission holds.
BATCH = 2_000
ROW_EVENT = "dev.hexmesh.row.published"


def port_stream(product_key: str, port: str) -> str:
    return f"port:{product_key}/{port}"


def product_stream(product_key: str) -> str:
    """The product's own stream: SLO breaches and other product-level events."""
    return f"product:{product_key}"


def json_value(value: Any) -> Any:
    """A cell as JSON: ISO times, decimals as strings (exact), bytes as hex."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def row_events(
    reader: OutputPortReader, publication: Publication, table: pa.Table
) -> Iterator[list[Event]]:
    """The rows of ``table`` (new in ``publication``) as CloudEvents, in batches of :data:`BATCH`."""
    published = from_us(publication.published_us).isoformat()
    event_time = reader.spec.event_time
    index = 0
    for batch in table.to_batches(max_chunksize=BATCH):
        events = []
        for row in batch.to_pylist():
            data = {k: json_value(v) for k, v in row.items()}
            moment = data.get(event_time) if event_time else None
            events.append(
                Event(
                    f"{publication.snapshot_id}-{index}",
                    {
                        "specversion": "1.0",
                        "id": f"{publication.snapshot_id}-{index}",
                        "source": reader.address,
                        "type": ROW_EVENT,
                        "time": _as_time(moment) or published,
                        "processingtime": published,
                        "snapshotid": str(publication.snapshot_id),
                        "runid": publication.run_id,
                        "datacontenttype": "application/json",
                        "data": data,
                    },
                )
            )
            index += 1
        yield events


def _as_time(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if "T" in text else text + "T00:00:00+00:00"


async def emit_publications(reader: OutputPortReader, log: EventLog, offsets: OffsetStore) -> int:
    """Append the rows of every publication of ``reader``'s port not emitted yet; return new events."""
    stream = port_stream(reader.product.key, reader.spec.name)
    last = offsets.emitted(stream)
    # Queries, scans and conversions run in worker threads: the server's loop keeps serving.
    publications = await asyncio.to_thread(reader.publications)
    ids = [p.snapshot_id for p in publications]
    pending = publications[ids.index(last) + 1 :] if last in ids else publications
    previous = last if last in ids else reader.record.baseline_snapshot
    count = 0
    for publication in pending:
        table = await asyncio.to_thread(
            reader.runtime.tables.scan,
            reader.record.table_id,
            publication.snapshot_id,
            since_snapshot=previous,
        )
        batches = row_events(reader, publication, table)
        while (events := await asyncio.to_thread(next, batches, None)) is not None:
            count += await log.append(stream, events)
        offsets.mark_emitted(stream, publication.snapshot_id)
        previous = publication.snapshot_id
    return count


def encode(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"))


def publication_marker(runtime: Runtime) -> int:
    """The id of the newest publication of the workspace: a cheap 'anything new?' probe."""
    # A single indexed max(); StateStore has no method for it yet, so read its table directly.
    from sqlalchemy import func, select

    from hexmesh.infra.state import schema

    with runtime.state.engine.connect() as conn:
        return int(conn.execute(select(func.max(schema.publications.c.id))).scalar() or 0)
