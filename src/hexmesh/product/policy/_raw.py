"""A port's rows as stored, sealed fields opened: what the door (:mod:`.door`) shapes, and nothing else may read.

Private to the policy package: an import-linter contract (pyproject.toml, "The raw read is the
policy's") lets no other module import it, so every read of a port's data goes through a plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

import pyarrow as pa
from pyiceberg.expressions import AlwaysTrue

from hexmesh.errors import NotFoundError
from hexmesh.infra.tables import arrow_schema
from hexmesh.product.deployed import DeployedProduct
from hexmesh.product.policy.opening import open_table
from hexmesh.product.ports import OutputPortReader, ReadRequest
from hexmesh.product.runtime import Runtime
from hexmesh.product.sealing import Sealing, epoch, is_sealed, scan_columns, served_schema

__all__ = ["RawPort", "forget_epoch"]


class RawPort:
    """One output port of one deployed version, read as stored (then opened)."""

    def __init__(self, runtime: Runtime, product: DeployedProduct, port: str) -> None:
        self.reader = OutputPortReader(runtime, product, port)
        self.runtime = runtime
        self.spec = self.reader.spec
        self.record = self.reader.record
        self.names = [f.name for f in self.spec.properties]
        self.schema = served_schema(self.spec, arrow_schema(self.spec))
        self.sealed = is_sealed(self.spec)

    def snapshot(self, snapshot_id: int | None, as_of: datetime | None) -> int | None:
        """``snapshot_id`` if it was published on the port (else NotFoundError), or the one served at ``as_of``."""
        if snapshot_id is None:
            publication = self.reader.publication(as_of)
            return publication.snapshot_id if publication else None
        publications = self.reader.publications()
        if any(p.snapshot_id == snapshot_id for p in publications):
            return snapshot_id
        known = ", ".join(str(p.snapshot_id) for p in publications[-5:]) or "none yet"
        raise NotFoundError(
            f"snapshot {snapshot_id} was never published on {self.reader.address}; latest published snapshots: {known}"
        )

    def check_window(self, request: ReadRequest) -> None:
        """Raise ReadError for a bad event-time window now: a stream must fail before its first byte."""
        self.reader._filter(ReadRequest(since=request.since, until=request.until))

    def batches(
        self, snapshot: int, request: ReadRequest, *, after_snapshot: int | None = None, hide: Iterable[str] = ()
    ) -> Iterator[pa.RecordBatch]:
        """Every declared column of the rows of ``snapshot`` matching ``request`` (a filter and window
        on columns read in clear); sealed fields opened, but those in ``hide`` (the plan drops them)."""
        whole = ReadRequest(since=request.since, until=request.until, filter=request.filter)
        row_filter = self.reader._filter(whole)
        hidden = set(hide)
        scanned = self.runtime.tables.scan_batches(
            self.record.table_id,
            snapshot,
            since_snapshot=after_snapshot,
            row_filter=row_filter or AlwaysTrue(),
            selected_fields=tuple(scan_columns(self.spec, None) or ("*",)),
        )
        sealing = Sealing.of(self.spec, strict=False)
        for batch in scanned:
            if not batch.num_rows:
                continue
            table = pa.Table.from_batches([batch])
            if sealing is not None:
                table = open_table(self.runtime, self.spec, table, hide=hidden)
            table = table.select(self.names)
            yield from table.cast(self.schema).to_batches()

    def read(self, request: ReadRequest, *, opened: bool = True) -> pa.Table:
        """Rows as of ``request.as_of`` within its window, projected and filtered, as stored; sealed
        fields opened unless ``opened=False`` (a backfill republishes them sealed)."""
        columns = self.reader._columns(request.columns)
        row_filter = self.reader._filter(request)
        publication = self.reader.publication(request.as_of)
        if publication is None:
            return self.reader._empty(columns)
        scanned = scan_columns(self.spec, columns) if opened else columns
        table = self.runtime.tables.scan(
            self.record.table_id, publication.snapshot_id, columns=scanned, row_filter=row_filter
        )
        return open_table(self.runtime, self.spec, table, columns) if opened else table

    def data_files(self, snapshot: int, *, after_snapshot: int | None = None) -> list[str]:
        """The table's own data files of ``snapshot`` (those added after ``after_snapshot``)."""
        return [
            f.file_path
            for f in self.runtime.tables.data_files(self.record.table_id, snapshot, since_snapshot=after_snapshot)
        ]


def forget_epoch(raw: RawPort) -> list[int]:
    """What a cache of the port's opened rows is keyed with: it changes with every forget."""
    return epoch(raw.runtime, raw.spec)
