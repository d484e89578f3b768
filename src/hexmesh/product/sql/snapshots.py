"""Port tables pinned to a processing time, as Arrow datasets DuckDB can scan lazily.

DuckDB itself cannot open files (external access is off), so pyarrow reads them; a dataset
lets DuckDB push projections and filters down instead of loading whole tables. The data files
come from the snapshot's manifest, never from listing the table's folder, which also holds
files of unpublished or replaced snapshots.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any, TypeAlias

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from hexmesh.errors import ReadError
from hexmesh.infra.state import now_us, to_us
from hexmesh.product.runtime import Runtime
from hexmesh.product.sql.catalog import PortTable

__all__ = ["SnapshotSource"]

ArrowSource: TypeAlias = "ds.Dataset | pa.Table"


class SnapshotSource:
    """Resolves (table, as_of) to a published snapshot and opens it; shared by all sessions.

    Published snapshots never change, so an opened dataset is cached by snapshot id for good.
    """

    def __init__(self, runtime: Runtime, cache_size: int = 256) -> None:
        self.runtime = runtime
        self._cache: OrderedDict[tuple[tuple[str, ...], int], ArrowSource] = OrderedDict()
        self._size = cache_size
        self._lock = threading.Lock()

    def snapshot_id(self, table: PortTable, as_of: datetime) -> int:
        """The snapshot the port served at ``as_of``; the empty baseline before any run.

        The same rule as :meth:`OutputPortReader.publication`, with the port record the
        catalog already holds (one state-store query per table per statement).
        """
        limit = to_us(as_of)
        if limit > now_us():
            raise ReadError(
                f"as_of {as_of.isoformat()} is in the future; a read of the future could change, "
                "so give a time at or before now"
            )
        publication = self.runtime.state.latest_publication(table.record.id, as_of_us=limit)
        return table.record.baseline_snapshot if publication is None else publication.snapshot_id

    def open(self, table: PortTable, snapshot_id: int) -> ArrowSource:
        key = (tuple(table.record.table_id), snapshot_id)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        source = self._open(table, snapshot_id)
        with self._lock:
            self._cache[key] = source
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return source

    def _open(self, table: PortTable, snapshot_id: int) -> ArrowSource:
        schema = table.arrow_schema
        files = self.runtime.tables.data_files(tuple(table.record.table_id), snapshot_id)
        if not files:
            empty: ArrowSource = schema.empty_table()
            return empty
        filesystem, first = pafs.FileSystem.from_uri(files[0].file_path)
        paths = [first] + [pafs.FileSystem.from_uri(f.file_path)[1] for f in files[1:]]
        # The declared schema fills columns that older files lack (added later) with nulls.
        opened = ds.dataset(paths, schema=schema, format="parquet", filesystem=filesystem)
        dataset: ArrowSource = _ScanOnDemand(list(opened.get_fragments()), schema, opened.format, filesystem)
        return dataset


class _ScanOnDemand(ds.FileSystemDataset):  # type: ignore[misc]  # pyarrow is untyped
    """A dataset whose scans read ahead one file and one batch, not pyarrow's 4 files and 16 batches.

    DuckDB scans a registered dataset through ``scanner()`` and stops pulling at a LIMIT, but
    pyarrow's default read-ahead keeps decoding files in the background: a ``LIMIT 1000000``
    over SF10 decoded several times the rows it returned. Full scans (aggregates) are as fast.
    """

    def scanner(self, **options: Any) -> ds.Scanner:
        options.setdefault("fragment_readahead", 1)
        options.setdefault("batch_readahead", 1)
        return ds.Scanner.from_dataset(self, **options)
