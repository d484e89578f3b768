"""The files port: a port's snapshots, and its data for a read request, encoded batch by batch.

Encoders never hold more than one record batch (plus the format's own buffer), so a download
of any size runs in constant memory. Snapshot-pinned downloads are immutable: their ETag is
derived from the snapshot and the request alone.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
from pyiceberg.expressions import AlwaysTrue

from hexmesh.errors import NotFoundError, ReadError
from hexmesh.infra.state import Publication
from hexmesh.product.eventstream import json_value
from hexmesh.product.ports import OutputPortReader, ReadRequest

__all__ = ["FORMATS", "SnapshotInfo", "encode", "etag", "parquet_file", "pinned", "snapshots"]

#: format name → media type.
FORMATS: dict[str, str] = {
    "parquet": "application/vnd.apache.parquet",
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "arrow": "application/vnd.apache.arrow.stream",
}
_BATCH_ROWS = 65_536


@dataclass(frozen=True)
class SnapshotInfo:
    snapshot_id: int
    run_id: str
    published_us: int
    rows_added: int
    rows: int
    files: int
    size_bytes: int


def snapshots(reader: OutputPortReader) -> list[SnapshotInfo]:
    """Published snapshots, oldest first, with total rows and data size at each."""
    found = []
    for publication in reader.publications():
        files = reader.runtime.tables.data_files(reader.record.table_id, publication.snapshot_id)
        found.append(
            SnapshotInfo(
                publication.snapshot_id,
                publication.run_id,
                publication.published_us,
                publication.rows,
                sum(int(f.record_count) for f in files),
                len(files),
                sum(int(f.file_size_in_bytes) for f in files),
            )
        )
    return found


def pinned(reader: OutputPortReader, snapshot_id: int) -> Publication:
    """The publication of ``snapshot_id``; 404 naming the published ones otherwise."""
    publications = reader.publications()
    for publication in publications:
        if publication.snapshot_id == snapshot_id:
            return publication
    known = ", ".join(str(p.snapshot_id) for p in publications[-5:]) or "none yet"
    raise NotFoundError(
        f"snapshot {snapshot_id} was never published on {reader.address}; "
        f"latest published snapshots: {known}"
    )


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ReadError(f"format {fmt!r} is not served; use one of {', '.join(FORMATS)}")
    return fmt


def batches(
    reader: OutputPortReader, request: ReadRequest, snapshot_id: int | None
) -> Iterator[pa.RecordBatch]:
    """Stream the rows of a read (at ``snapshot_id`` if given, else as of ``request.as_of``)."""
    # The reader validates columns and the time window; the scan then streams batches.
    columns = reader._columns(request.columns)
    row_filter = reader._filter(request)
    if snapshot_id is None:
        publication = reader.publication(request.as_of)
        snapshot_id = publication.snapshot_id if publication else None
    schema = reader._empty(columns).schema
    if snapshot_id is None:
        return iter(())
    scanned = reader.runtime.tables.scan_batches(
        reader.record.table_id,
        snapshot_id,
        row_filter=row_filter or AlwaysTrue(),
        selected_fields=tuple(columns) if columns else ("*",),
    )
    return (b.cast(schema) if b.schema != schema else b for b in scanned if b.num_rows)


def schema_of(reader: OutputPortReader, request: ReadRequest) -> pa.Schema:
    return reader._empty(reader._columns(request.columns)).schema


class _Sink(io.RawIOBase):
    """A write-only file whose bytes are taken out after every batch."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.buffer += data
        return len(data)

    def take(self) -> bytes:
        chunk = bytes(self.buffer)
        self.buffer.clear()
        return chunk


def encode(fmt: str, schema: pa.Schema, rows: Iterator[pa.RecordBatch]) -> Iterator[bytes]:
    """Encode batches in ``fmt``, yielding bytes as soon as each batch is written."""
    sink = _Sink()
    if fmt == "jsonl":
        for batch in rows:
            yield "".join(
                json.dumps({k: json_value(v) for k, v in r.items()}) + "\n"
                for r in batch.to_pylist()
            ).encode()
        return
    writer: Any
    if fmt == "parquet":
        writer = pq.ParquetWriter(sink, schema)
    elif fmt == "csv":
        writer = pcsv.CSVWriter(sink, schema)
    else:
        writer = ipc.new_stream(sink, schema)
    yield sink.take()
    for batch in rows:
        writer.write_batch(batch)
        chunk = sink.take()
        if chunk:
            yield chunk
    writer.close()
    yield sink.take()


def etag(reader: OutputPortReader, snapshot_id: int, fmt: str, request: ReadRequest) -> str:
    """A strong ETag: the same snapshot and request give the same bytes forever."""
    key = json.dumps(
        [
            reader.record.table_id,
            snapshot_id,
            fmt,
            str(request.since),
            str(request.until),
            request.columns,
            request.filter,
        ]
    )
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def parquet_file(
    reader: OutputPortReader, snapshot_id: int, request: ReadRequest, tag: str
) -> Path:
    """A pinned Parquet download as a file (written once, streamed), so Range requests work."""
    folder = reader.runtime.settings.home / "cache" / "files"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{tag.strip(chr(34))}.parquet"
    if not target.exists():
        partial = target.with_suffix(f".{id(request)}.part")
        with partial.open("wb") as out:
            for chunk in encode(
                "parquet", schema_of(reader, request), batches(reader, request, snapshot_id)
            ):
                out.write(chunk)
        partial.replace(target)
    return target
