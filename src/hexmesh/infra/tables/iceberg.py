"""Iceberg tables via pyiceberg: stage data files, then commit one snapshot per write.

Writes happen in two steps so that a run with several output ports writes every port's data
files first (the slow part) and only then commits, one snapshot per port. Which snapshots are
*published* is decided by the state store (see ``docs/adr/0002-publication-log.md``): a snapshot
committed by a run that died before publishing is never served, and the next write to the
table starts again from the last published snapshot.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
from pyiceberg.catalog import Catalog
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.io import FileIO
from pyiceberg.io.pyarrow import ArrowScan, PyArrowFileIO, _dataframe_to_data_files
from pyiceberg.manifest import DataFile
from pyiceberg.schema import Schema
from pyiceberg.table import FileScanTask, Table

from hexmesh.errors import StorageError
from hexmesh.infra.settings import Settings
from hexmesh.infra.storage.failures import explain
from hexmesh.infra.tables.catalogs import catalog_failure, catalog_properties, open_catalog
from hexmesh.infra.tables.order import sort_rows

__all__ = ["IcebergTables", "Snapshot", "SnapshotFiles", "StagedWrite", "TableId"]

TableId = tuple[str, ...]
#: Streamed rows are written a data file per this many bytes of Arrow data (what memory holds at most).
FILE_BYTES = 128 * 1024 * 1024


@dataclass(frozen=True)
class Snapshot:
    """One committed snapshot of a table."""

    snapshot_id: int
    timestamp_ms: int
    operation: str
    summary: dict[str, str]


@dataclass(frozen=True)
class SnapshotFiles:
    """A snapshot's data files as its table's own FileIO reaches them (never a filesystem guessed from a path).

    ``uris`` are the manifest's file locations; ``paths`` the same files as ``filesystem`` names them.
    """

    filesystem: pafs.FileSystem
    uris: list[str]
    paths: list[str]
    rows: int
    size_bytes: int


@dataclass
class StagedWrite:
    """Data files written for a table but not committed yet."""

    table: Table
    files: list[DataFile]
    rows: int


class IcebergTables:
    """The tables of a workspace, in one Iceberg catalog."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @cached_property
    def catalog(self) -> Catalog:
        catalog = open_catalog(self._settings)
        self._check(catalog)
        return catalog

    def _check(self, catalog: Catalog) -> None:
        """Reach the catalog and an S3 warehouse once: a wrong credential, endpoint or bucket fails here, named."""
        if not isinstance(catalog, SqlCatalog):
            try:
                catalog.list_namespaces()
            except Exception as exc:  # pyiceberg's REST errors (401, 403, connection) have no common root
                raise catalog_failure(self._settings, self.properties, exc) from exc
            return
        warehouse = self._settings.warehouse
        if not warehouse.startswith(("s3://", "s3a://")):
            return
        io = catalog._load_file_io(location=warehouse)
        bucket = warehouse.split("://", 1)[1].split("/", 1)[0]
        try:
            found = _filesystem(io, warehouse).get_file_info(bucket)
        except OSError as exc:
            endpoint = self._settings.s3_endpoint
            raise explain(exc, what="the warehouse", url=warehouse, endpoint=endpoint, setting="warehouse") or (
                StorageError(f"cannot reach the warehouse {warehouse!r}: {exc}")
            ) from None
        if found.type == pafs.FileType.NotFound:
            where = self._settings.s3_endpoint or "AWS S3"
            raise StorageError(
                f"the bucket {bucket!r} of the warehouse {warehouse!r} does not exist on {where}; create the bucket, "
                "or fix the setting warehouse (HEXMESH_WAREHOUSE)"
            )

    @property
    def properties(self) -> dict[str, str]:
        """The catalog's properties as ``load_catalog`` gets them (secrets included: never show them)."""
        return catalog_properties(self._settings)

    def close(self) -> None:
        """Release the catalog's database connections."""
        catalog = self.__dict__.pop("catalog", None)
        if isinstance(catalog, SqlCatalog):
            catalog.engine.dispose()
        elif catalog is not None and hasattr(catalog, "_session"):
            catalog._session.close()  # a REST catalog's HTTP connections

    def ensure(self, table_id: TableId, schema: Schema, properties: dict[str, str]) -> Table:
        """Create the table, or add the schema's new optional fields to it; idempotent."""
        self.catalog.create_namespace_if_not_exists(table_id[:-1])
        try:
            table = self.catalog.load_table(table_id)
        except NoSuchTableError:
            return self.catalog.create_table(table_id, schema, properties=properties)
        if table.schema().as_struct() != schema.as_struct():
            with table.update_schema() as update:
                update.union_by_name(schema)
            table = self.catalog.load_table(table_id)
        return table

    def load(self, table_id: TableId) -> Table:
        return self.catalog.load_table(table_id)

    def exists(self, table_id: TableId) -> bool:
        return bool(self.catalog.table_exists(table_id))

    def drop(self, table_id: TableId) -> None:
        self.catalog.drop_table(table_id)

    def commit_empty(self, table_id: TableId, properties: dict[str, str]) -> int:
        """Commit an empty snapshot (the baseline a table starts from)."""
        table = self.load(table_id)
        with table.transaction() as tx, tx.update_snapshot(snapshot_properties=properties).fast_append():
            pass
        snapshot = self.load(table_id).current_snapshot()
        assert snapshot is not None
        return int(snapshot.snapshot_id)

    def stage(
        self, table_id: TableId, data: pa.Table | Iterable[pa.RecordBatch], *, sort_by: Sequence[str] = ()
    ) -> StagedWrite:
        """Write ``data`` as new Parquet files of the table, without committing them.

        Batches are written as they come, one data file per :data:`FILE_BYTES` of them, so a
        stream of any length is staged holding one file's rows at most. With ``sort_by``, each
        file's rows are sorted by those columns (:func:`.order.sort_rows`), so its row groups'
        statistics narrow them down.
        """
        table = self.load(table_id)
        if isinstance(data, pa.Table):
            chunks: Iterable[pa.Table] = [data] if data.num_rows else []
        else:
            chunks = (pa.Table.from_batches(chunk) for chunk in _chunks(data, FILE_BYTES))
        files: list[DataFile] = []
        rows = 0
        write_uuid, counter = uuid.uuid4(), itertools.count(0)
        for chunk in chunks:
            if sort_by:
                chunk = sort_rows(chunk, sort_by)
            # Consumed here, chunk by chunk: pyiceberg's writer would otherwise take every file's rows at once.
            files.extend(
                _dataframe_to_data_files(
                    table_metadata=table.metadata, df=chunk, io=table.io, write_uuid=write_uuid, counter=counter
                )
            )
            rows += chunk.num_rows
        return StagedWrite(table, files, rows)

    def commit(self, staged: StagedWrite, *, replace: bool, base: int, properties: dict[str, str]) -> int:
        """Commit staged files as exactly one snapshot on top of snapshot ``base``.

        ``replace`` removes the base snapshot's files in the same snapshot (an overwrite),
        so the previous state stays readable by time travel and nothing is rewritten.
        """
        table = self.catalog.load_table(staged.table.name())
        self.reset(table, base)
        table = self.catalog.load_table(staged.table.name())
        with table.transaction() as tx:
            update = tx.update_snapshot(snapshot_properties=properties)
            if replace:
                with update.overwrite() as overwrite:
                    for task in table.scan(snapshot_id=base).plan_files():
                        overwrite.delete_data_file(task.file)
                    for file in staged.files:
                        overwrite.append_data_file(file)
            else:
                with update.fast_append() as append:
                    for file in staged.files:
                        append.append_data_file(file)
        snapshot = self.catalog.load_table(staged.table.name()).current_snapshot()
        assert snapshot is not None
        return int(snapshot.snapshot_id)

    def reset(self, table: Table, snapshot_id: int) -> None:
        """Point the table's main branch back at ``snapshot_id`` if an unpublished commit moved it."""
        current = table.current_snapshot()
        if current is None or current.snapshot_id != snapshot_id:
            table.manage_snapshots().set_current_snapshot(snapshot_id=snapshot_id).commit()

    def snapshots(self, table_id: TableId) -> list[Snapshot]:
        table = self.load(table_id)
        return [
            Snapshot(
                s.snapshot_id,
                s.timestamp_ms,
                str(s.summary.operation.value) if s.summary else "",
                dict(s.summary.additional_properties) if s.summary else {},
            )
            for s in table.snapshots()
        ]

    def scan(
        self,
        table_id: TableId,
        snapshot_id: int,
        *,
        columns: Sequence[str] | None = None,
        row_filter: BooleanExpression | None = None,
        since_snapshot: int | None = None,
    ) -> pa.Table:
        """Rows of ``snapshot_id``; with ``since_snapshot``, only rows added after that snapshot."""
        table = self.load(table_id)
        scan = table.scan(
            snapshot_id=snapshot_id,
            row_filter=row_filter or AlwaysTrue(),
            selected_fields=tuple(columns) if columns else ("*",),
        )
        if since_snapshot is None:
            return scan.to_arrow()
        seen = {t.file.file_path for t in table.scan(snapshot_id=since_snapshot).plan_files()}
        tasks = [t for t in scan.plan_files() if t.file.file_path not in seen]
        return ArrowScan(table.metadata, table.io, scan.projection(), scan.row_filter, case_sensitive=True).to_table(
            tasks
        )

    def scan_batches(
        self, table_id: TableId, snapshot_id: int, *, since_snapshot: int | None = None, **kwargs: Any
    ) -> Iterator[pa.RecordBatch]:
        """Stream the rows of a snapshot in batches (constant memory); with ``since_snapshot``, only
        the rows added after that snapshot."""
        table = self.load(table_id)
        scan = table.scan(snapshot_id=snapshot_id, **kwargs)
        if since_snapshot is None:
            yield from scan.to_arrow_batch_reader()
            return
        tasks = self._added(table, scan.plan_files(), since_snapshot)
        yield from ArrowScan(
            table.metadata, table.io, scan.projection(), scan.row_filter, case_sensitive=True
        ).to_record_batches(tasks)

    def files(self, table_id: TableId, snapshot_id: int, *, since_snapshot: int | None = None) -> SnapshotFiles:
        """The data files of ``snapshot_id`` and the filesystem of the table's own FileIO that reads them.

        What every reader of raw files uses (the SQL port's scans, engines reading input files):
        the FileIO carries the catalog's S3 endpoint, credentials and addressing. With
        ``since_snapshot``, only the files added after that snapshot.
        """
        table = self.load(table_id)
        tasks = list(table.scan(snapshot_id=snapshot_id).plan_files())
        if since_snapshot is not None:
            tasks = self._added(table, tasks, since_snapshot)
        found = [t.file for t in tasks]
        uris = [str(f.file_path) for f in found]
        rows = sum(int(f.record_count) for f in found)
        size = sum(int(f.file_size_in_bytes) for f in found)
        location = uris[0] if uris else str(table.metadata.location)
        filesystem = _filesystem(table.io, location)
        return SnapshotFiles(filesystem, uris, [_fs_path(table.io, uri) for uri in uris], rows, size)

    def data_files(self, table_id: TableId, snapshot_id: int, *, since_snapshot: int | None = None) -> list[DataFile]:
        """The data files of a snapshot; with ``since_snapshot``, those added after that snapshot."""
        table = self.load(table_id)
        tasks = list(table.scan(snapshot_id=snapshot_id).plan_files())
        if since_snapshot is not None:
            tasks = self._added(table, tasks, since_snapshot)
        return [t.file for t in tasks]

    @staticmethod
    def _added(table: Table, tasks: Iterable[FileScanTask], since_snapshot: int) -> list[FileScanTask]:
        seen = {t.file.file_path for t in table.scan(snapshot_id=since_snapshot).plan_files()}
        return [t for t in tasks if t.file.file_path not in seen]

    def location(self, table_id: TableId) -> str:
        return str(self.load(table_id).metadata_location)


def _filesystem(io: FileIO, location: str) -> pafs.FileSystem:
    """The pyarrow filesystem ``io`` reads ``location`` with (fsspec FileIOs are wrapped)."""
    if isinstance(io, PyArrowFileIO):
        scheme, netloc, _ = PyArrowFileIO.parse_location(location, io.properties)
        return io.fs_by_scheme(scheme, netloc)
    get_fs = getattr(io, "get_fs", None)
    if get_fs is None:
        raise StorageError(
            f"the table FileIO {type(io).__name__} gives no filesystem to read files with; set py-io-impl in "
            "catalog_properties to pyiceberg.io.pyarrow.PyArrowFileIO"
        )
    scheme = location.split("://", 1)[0] if "://" in location else "file"
    return pafs.PyFileSystem(pafs.FSSpecHandler(get_fs(scheme)))


def _fs_path(io: FileIO, uri: str) -> str:
    if isinstance(io, PyArrowFileIO):
        return PyArrowFileIO.parse_location(uri, io.properties)[2]
    return uri.split("://", 1)[1] if "://" in uri else uri


def _chunks(batches: Iterable[pa.RecordBatch], size: int) -> Iterator[list[pa.RecordBatch]]:
    """Non-empty ``batches`` grouped into lists of about ``size`` bytes."""
    chunk: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        if not batch.num_rows:
            continue
        chunk.append(batch)
        held += batch.nbytes
        if held >= size:
            yield chunk
            chunk, held = [], 0
    if chunk:
        yield chunk
