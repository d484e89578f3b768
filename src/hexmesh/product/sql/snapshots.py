"""Port tables pinned to a processing time: DuckDB's own Parquet scan, or an Arrow dataset.

A published snapshot's data files come from its Iceberg manifest, never from listing the
table's folder (which also holds files of unpublished or replaced snapshots). When every file
is a local file under the warehouse the engine may read (``allowed_directories``), DuckDB
scans them itself (:class:`NativeScan`): its own Parquet reader is the fastest scan there is
(docs/adr/0014). Files elsewhere (object storage) are read by pyarrow through the table's own
FileIO (its endpoint, credentials and addressing; never a filesystem guessed from a path) as a lazy
dataset (this DuckDB has no httpfs extension and cannot install one offline, docs/adr/0030) —
or, by default, copied once to a bounded local mirror (:mod:`.mirror`; data files never change)
and scanned natively from there.

Client SQL never sees a file name: a native scan is a FROM item the session puts into the
DuckDB SQL it built, and client SQL cannot call ``read_parquet`` (sql/vetted.py).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, TypeAlias
from urllib.parse import unquote, urlparse

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from hexmesh.errors import ReadError
from hexmesh.infra.state import now_us, to_us
from hexmesh.product.runtime import Runtime
from hexmesh.product.sql.catalog import PortTable
from hexmesh.product.sql.mirror import Mirror

__all__ = ["ArrowSource", "NativeScan", "SnapshotSource", "Source", "local_root"]

ArrowSource: TypeAlias = "ds.Dataset | pa.Table"


@dataclass(frozen=True)
class NativeScan:
    """A snapshot's Parquet files as a DuckDB FROM item with exactly the port's declared columns."""

    sql: str
    schema: pa.Schema
    files: tuple[str, ...] = ()


Source: TypeAlias = "NativeScan | ds.Dataset | pa.Table"


def local_root(runtime: Runtime) -> str | None:
    """The warehouse folder the engine may read, with a trailing slash; None when it is not local."""
    parsed = urlparse(runtime.settings.warehouse)
    if parsed.scheme not in ("", "file"):
        return None
    return os.path.realpath(unquote(parsed.path)).rstrip("/") + "/"


def _mirror(runtime: Runtime) -> Mirror | None:
    """Local copies of remote data files for native scans; None when the warehouse is local or it is off."""
    settings = runtime.settings
    if local_root(runtime) is not None or settings.tables_cache_mb == 0:
        return None
    return Mirror(settings.home / "cache" / "tables", settings.tables_cache_mb * 1024 * 1024)


class SnapshotSource:
    """Resolves (table, as_of) to a published snapshot and opens it; shared by all sessions.

    Published snapshots never change, so what is opened is cached by snapshot id for good.
    ``native`` False always gives Arrow (the policy's variants and sealed columns need rows).
    """

    def __init__(self, runtime: Runtime, cache_size: int = 256, *, native: bool = True) -> None:
        self.runtime = runtime
        self.mirror = _mirror(runtime) if native else None
        self.root = (self.mirror.root if self.mirror else local_root(runtime)) if native else None
        self._cache: OrderedDict[tuple[tuple[str, ...], int, bool], Source] = OrderedDict()
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

    def open(self, table: PortTable, snapshot_id: int) -> Source:
        """DuckDB's own scan of the snapshot when its files are local, else a lazy Arrow dataset."""
        return self._cached(table, snapshot_id, self.root is not None)

    def dataset(self, table: PortTable, snapshot_id: int) -> ArrowSource:
        """The snapshot as Arrow, whatever its files' location."""
        source = self._cached(table, snapshot_id, False)
        assert not isinstance(source, NativeScan)
        return source

    def _cached(self, table: PortTable, snapshot_id: int, native: bool) -> Source:
        key = (tuple(table.record.table_id), snapshot_id, native)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and not (isinstance(cached, NativeScan) and self._evicted(cached)):
                self._cache.move_to_end(key)
                return cached
        source = self._open(table, snapshot_id, native)
        with self._lock:
            self._cache[key] = source
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return source

    def _open(self, table: PortTable, snapshot_id: int, native: bool) -> Source:
        schema = table.arrow_schema
        files = self.runtime.tables.files(tuple(table.record.table_id), snapshot_id)
        if native and self.mirror is not None:
            copies = self.mirror.fetch(files.filesystem, files.uris, files.paths)
            if copies is not None:
                return _native(schema, copies)
        elif native and self.root is not None:
            paths = [_local_path(uri, self.root) for uri in files.uris]
            if all(path is not None for path in paths):
                return _native(schema, [p for p in paths if p is not None])
        if not files.uris:
            empty: ArrowSource = schema.empty_table()
            return empty
        # The declared schema fills columns that older files lack (added later) with nulls.
        opened = ds.dataset(files.paths, schema=schema, format="parquet", filesystem=files.filesystem)
        dataset: ArrowSource = _ScanOnDemand(list(opened.get_fragments()), schema, opened.format, files.filesystem)
        return dataset

    def _evicted(self, scan: NativeScan) -> bool:
        """Whether a mirrored scan lost a copy to eviction (then the snapshot is opened again)."""
        return self.mirror is not None and not self.mirror.present(list(scan.files))


def _local_path(uri: str, root: str) -> str | None:
    """The file's path when it is a local file inside ``root``, else None."""
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        return None
    path = os.path.realpath(unquote(parsed.path))
    return path if path.startswith(root) else None


def _native(schema: pa.Schema, paths: list[str]) -> NativeScan:
    """SELECT the declared columns (cast where a file's type differs, NULL where no file has one) from the files."""
    types = _duckdb_types(schema)
    if not paths:
        nulls = ", ".join(f"CAST(NULL AS {types[f.name]}) AS {_quote(f.name)}" for f in schema)
        return NativeScan(f"(SELECT {nulls} LIMIT 0)", schema)
    found: dict[str, pa.DataType] = {}
    differ = False
    for path in paths:
        file_schema = pq.read_schema(path)
        differ = differ or (bool(found) and set(file_schema.names) != set(found))
        for field in file_schema:
            found.setdefault(field.name, field.type)
    columns = []
    for field in schema:
        name = _quote(field.name)
        if field.name not in found:
            columns.append(f"CAST(NULL AS {types[field.name]}) AS {name}")
        elif found[field.name] != field.type:
            columns.append(f"CAST({name} AS {types[field.name]}) AS {name}")
        else:
            columns.append(name)
    files = ", ".join(_literal(p) for p in paths)
    options = ", union_by_name = true" if differ else ""
    return NativeScan(f"(SELECT {', '.join(columns)} FROM read_parquet([{files}]{options}))", schema, tuple(paths))


@cache
def _types_of(schema: pa.Schema) -> tuple[tuple[str, str], ...]:
    with duckdb.connect(":memory:") as con:
        con.register("shape", schema.empty_table())
        relation = con.sql("SELECT * FROM shape")
        return tuple((name, str(kind)) for name, kind in zip(relation.columns, relation.types, strict=True))


def _duckdb_types(schema: pa.Schema) -> dict[str, str]:
    return dict(_types_of(schema))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


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
