"""Opening sealed fields for a read: the policy's alone (docs/adr/0006, 0026).

Restricted fields are stored sealed (:mod:`hexmesh.product.sealing`); a read opens only the sealed
columns it shows in clear, right before its plan masks anything. Only the policy package and the
ports that apply a plan themselves may import this module (import-linter contract "Sealed fields
are opened by the policy"), so a new way to read cannot serve plaintext around the policies.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

import pyarrow as pa
import pyarrow.compute as pc

from hexmesh.governance.encryption import open_text
from hexmesh.infra.events import StoredEvent
from hexmesh.product.runtime import Runtime
from hexmesh.product.sealing import Keys, Sealing, is_sealed, key_store
from hexmesh.spec import OutputPort

__all__ = ["open_batches", "open_events", "open_table"]

ROW_EVENT = "dev.hexmesh.row.published"


def open_table(
    runtime: Runtime,
    port: OutputPort,
    table: pa.Table,
    columns: Sequence[str] | None = None,
    *,
    hide: Iterable[str] = (),
) -> pa.Table:
    """``table`` as stored (scanned with :func:`scan_columns`) with its sealed columns opened.

    ``columns``: the projection asked for (the subject column added for opening is dropped
    again); ``hide``: columns the caller may not see, left sealed (a policy drops them anyway).
    """
    sealing = Sealing.of(port, strict=False)
    if sealing is not None and table.num_rows and sealing.subject in table.column_names:
        hidden = set(hide)
        wanted = [f for f in sealing.fields if f in table.column_names and f not in hidden]
        if wanted:
            table = _open(key_store(runtime), sealing, table, wanted)
    if columns is not None and table.column_names != list(columns):
        table = table.select(list(columns))
    return table


def _open(store: Keys, sealing: Sealing, table: pa.Table, fields: Sequence[str]) -> pa.Table:
    subjects = table.column(sealing.subject)
    names = {s for s in pc.unique(subjects.cast(pa.string())).to_pylist() if s is not None}
    keys = store.keys(names)
    missing = names - keys.keys()
    # Subjects without a key either were forgotten or never had a sealed value (legacy rows).
    forgotten = store.store.forgotten(missing) if missing else set()
    for name in fields:
        index = table.schema.get_field_index(name)
        field = table.schema.field(index)
        opened = open_text(table.column(name), subjects, keys, name, forgotten=forgotten)
        # A forgotten value is null, even in a field declared required.
        table = table.set_column(index, field.with_nullable(True), opened.cast(field.type))
    return table


def open_batches(
    runtime: Runtime, port: OutputPort, batches: Iterable[pa.RecordBatch], columns: Sequence[str] | None = None
) -> Iterator[pa.RecordBatch]:
    """:func:`open_table` batch by batch (constant memory)."""
    if not is_sealed(port):
        yield from batches
        return
    for batch in batches:
        opened = open_table(runtime, port, pa.Table.from_batches([batch]), columns)
        yield from opened.to_batches()


def open_events(runtime: Runtime, port: OutputPort, events: Sequence[StoredEvent]) -> list[StoredEvent]:
    """Row events of ``port`` with their sealed fields opened (the log keeps them sealed)."""
    sealing = Sealing.of(port, strict=False)
    if sealing is None:
        return list(events)
    rows = [(i, e.body) for i, e in enumerate(events) if e.body.get("type") == ROW_EVENT]
    data = [body.get("data") for _, body in rows]
    usable = [(i, body, d) for (i, body), d in zip(rows, data, strict=True) if isinstance(d, dict)]
    if not usable:
        return list(events)
    names = [sealing.subject, *sealing.fields]
    table = pa.table({n: pa.array([_text(d.get(n)) for _, _, d in usable], type=pa.large_string()) for n in names})
    opened = open_table(runtime, port, table).to_pylist()
    out = list(events)
    for (i, body, d), values in zip(usable, opened, strict=True):
        shown = {**d, **{n: values[n] for n in sealing.fields if n in d}}
        text = json.dumps({**body, "data": shown}, separators=(",", ":"))
        out[i] = replace(events[i], text=text)
    return out


def _text(value: object) -> str | None:
    return None if value is None else str(value)
