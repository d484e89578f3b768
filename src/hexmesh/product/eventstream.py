"""Every published snapshot becomes CloudEvents 1.0 on its port's stream, one event per new row.

Event ids are ``<snapshot>-<row>``: stable, so re-emitting a snapshot (after a crash, or on
NATS) stores nothing twice. ``time`` is the row's event time; the processing time (when the
snapshot was published) is the ``processingtime`` extension attribute.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

from hexmesh.infra.events import Event, EventLog, OffsetStore
from hexmesh.infra.state import Publication, from_us
from hexmesh.product.ports import OutputPortReader
from hexmesh.product.runtime import Runtime
from hexmesh.product.values import iso_time, json_column, json_value

__all__ = [
    "BATCH",
    "emit_publications",
    "json_value",
    "port_stream",
    "product_stream",
    "publication_marker",
    "published_since",
    "reader_stream",
    "row_events",
]

#: Events per append: bounds the memory one emission holds.
BATCH = 2_000
#: Events in a publication's first append: small, so subscribers get the first rows early
#: while the rest of a large snapshot is still being converted and appended.
FIRST_BATCH = 200
ROW_EVENT = "dev.hexmesh.row.published"


def port_stream(product_key: str, port: str, major: int) -> str:
    """A port's stream: one per major, so parallel majors (with their own schemas) never share one."""
    return f"port:{product_key}@{major}/{port}"


def reader_stream(reader: OutputPortReader) -> str:
    """The stream of the port (and major) ``reader`` reads."""
    return port_stream(reader.product.key, reader.spec.name, reader.product.record.major)


def product_stream(product_key: str) -> str:
    """The product's own stream: SLO breaches and other product-level events."""
    return f"product:{product_key}"


def _slices(table: pa.Table, first: int) -> Iterator[pa.Table]:
    """``table`` in slices of ``first`` rows, then :data:`BATCH` rows (zero-copy)."""
    offset, size = 0, first
    while offset < table.num_rows:
        yield table.slice(offset, size)
        offset, size = offset + size, BATCH


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts, converted column by column."""
    columns = [json_column(column) for column in table.columns]
    names = table.column_names
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def row_events(
    reader: OutputPortReader, publication: Publication, table: pa.Table, *, first: int = FIRST_BATCH
) -> Iterator[list[Event]]:
    """The rows of ``table`` (new in ``publication``) as CloudEvents: ``first``, then :data:`BATCH` per list."""
    published = iso_time(from_us(publication.published_us))
    event_time = reader.spec.event_time
    index = 0
    for part in _slices(table, first):
        events = []
        for data in _rows(part):
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
    return text if "T" in text else text + "T00:00:00.000000Z"


async def emit_publications(
    reader: OutputPortReader,
    log: EventLog,
    offsets: OffsetStore,
    on_append: Callable[[int], None] | None = None,
) -> int:
    """Append the rows of every publication of ``reader``'s port not emitted yet; return new events.

    ``on_append(new)`` is called after every append, so subscribers can start on the first
    batch while the rest is appended. The emitted position moves once a whole publication is
    on the log: after a crash the publication is appended again, and stable ids drop the
    duplicates (at least once, never twice on the log).
    """
    stream = reader_stream(reader)
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
            added = await log.append(stream, events)
            count += added
            if added and on_append is not None:
                on_append(added)
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

    with runtime.state.db.connect() as conn:
        return int(conn.execute(select(func.max(schema.publications.c.id))).scalar() or 0)


def published_since(runtime: Runtime, after: int) -> tuple[int, set[tuple[str, int, str]]]:
    """The newest publication id, and the ``(product key, major, port)`` published after ``after``.

    One indexed query, so the emitter can look every few milliseconds and then touch only the
    ports that changed, however many products the node serves.
    """
    from sqlalchemy import select

    from hexmesh.infra.state import schema

    pubs, ports, products = schema.publications, schema.ports, schema.products
    query = (
        select(pubs.c.id, products.c.domain, products.c.name, ports.c.major, ports.c.name.label("port"))
        .select_from(pubs.join(ports, ports.c.id == pubs.c.port_id).join(products, products.c.id == ports.c.product_id))
        .where(pubs.c.id > after)
    )
    latest, changed = after, set()
    with runtime.state.db.connect() as conn:
        for row in conn.execute(query):
            latest = max(latest, int(row.id))
            changed.add((f"{row.domain}/{row.name}", int(row.major), row.port))
    return latest, changed
