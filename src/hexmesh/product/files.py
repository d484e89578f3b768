"""The files port: a port's snapshots, and its data for a read request, encoded batch by batch.

Encoders never hold more than one record batch (plus the format's own buffer), so a download
of any size runs in constant memory. Snapshot-pinned downloads are immutable: their ETag is
derived from the snapshot and the request alone. Pinned Parquet downloads are written once to
``<home>/cache/files`` (so Range requests work) and evicted least recently used first.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from hexmesh.cache import evict_files
from hexmesh.errors import NotFoundError, ReadError
from hexmesh.infra.state import Publication
from hexmesh.product.ports import OutputPortReader, ReadRequest
from hexmesh.product.sealing import epoch
from hexmesh.product.values import csv_batch, csv_schema, json_lines

__all__ = ["FORMATS", "SnapshotInfo", "encode", "etag", "evict", "parquet_file", "pinned", "snapshots"]

#: format name → media type.
FORMATS: dict[str, str] = {
    "parquet": "application/vnd.apache.parquet",
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "arrow": "application/vnd.apache.arrow.stream",
}
_BATCH_ROWS = 65_536
#: Parquet compression: what Iceberg writes too, about 3× smaller than snappy on typical ports.
_COMPRESSION = "zstd"
#: Part of every ETag: bump it whenever the bytes of an encoding change (e.g. the compression).
_ENCODING_VERSION = 3
#: Cached files used this recently are never evicted: a response may be about to open one.


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
        f"snapshot {snapshot_id} was never published on {reader.address}; latest published snapshots: {known}"
    )


def check_after(reader: OutputPortReader, request: ReadRequest) -> None:
    """Refuse (400) an ``after`` that is not a snapshot the port published: an incremental reader's
    position is always one, so another number is a mistake, never "everything"."""
    if request.after is None:
        return
    published = [p.snapshot_id for p in reader.publications()]
    if request.after not in published:
        known = ", ".join(str(s) for s in published[-5:]) or "none yet"
        raise ReadError(
            f"after={request.after} is not a snapshot published on {reader.address}; pass the snapshot_id of one "
            f"of its snapshots (GET …/snapshots; latest: {known})"
        )


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ReadError(f"format {fmt!r} is not served; use one of {', '.join(FORMATS)}")
    return fmt


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
            yield "".join(json_lines(batch)).encode()
        return
    writer: Any
    if fmt == "parquet":
        writer = pq.ParquetWriter(sink, schema, compression=_COMPRESSION)
    elif fmt == "csv":
        # Times as the same ISO 8601 text JSON lines carry (Arrow's CSV writer has a form of its own).
        writer = pcsv.CSVWriter(sink, csv_schema(schema))
        rows = (csv_batch(batch) for batch in rows)
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
            _ENCODING_VERSION,
            reader.record.table_id,
            snapshot_id,
            fmt,
            str(request.since),
            str(request.until),
            request.columns,
            request.filter,
            *([] if request.after is None else [request.after]),
            *epoch(reader.runtime, reader.spec),  # a forget changes what a sealed port's bytes hold
        ]
    )
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def parquet_file(reader: OutputPortReader, tag: str, schema: pa.Schema, rows: Iterator[pa.RecordBatch]) -> Path:
    """A pinned Parquet download as a file (written once from ``rows``, streamed), so Range requests work.

    ``tag`` names the bytes (:func:`etag`); on a hit ``rows`` is not read.

    The cache is bounded by ``Settings.files_cache_bytes``: writing a new file evicts the least
    recently used ones (a hit marks its file as used).
    """
    settings = reader.runtime.settings
    folder = settings.home / "cache" / "files"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{tag.strip(chr(34))}.parquet"
    try:
        os.utime(target)  # a hit: most recently used now
        return target
    except FileNotFoundError:
        pass
    partial = target.with_suffix(f".{os.getpid()}-{id(rows)}.part")
    try:
        with partial.open("wb") as out:
            for chunk in encode("parquet", schema, rows):
                out.write(chunk)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    evict(folder, settings.files_cache_bytes, keep=target)
    return target


def evict(folder: Path, limit: int, *, keep: Path | None = None) -> list[Path]:
    """Delete the least recently used cached files until they take at most ``limit`` bytes (``keep`` stays)."""
    return evict_files(folder, limit, keep=() if keep is None else (keep,))
