"""A run's candidate output: one port's conformed rows as Parquet files in the run's folder.

Between the engine and the commit, a port's rows stay on disk: conforming, the quality gate,
sealing and staging each read them batch by batch (or, for the checks, as a dataset DuckDB
scans), so a run's memory does not grow with its output (docs/adr/0029-compute-engines.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.dataset as ds

__all__ = ["BATCH_ROWS", "Candidate", "scan"]

#: Rows per batch when a step streams a candidate (a few MiB for typical rows).
BATCH_ROWS = 64 * 1024


@dataclass(frozen=True)
class Candidate:
    """A port's conformed rows: Parquet files whose columns are the port's declared schema."""

    port: str
    files: tuple[str, ...]
    schema: pa.Schema
    rows: int

    def dataset(self) -> ds.Dataset:
        """The rows as a dataset: scanned lazily (DuckDB reads it in batches, with projection)."""
        return scan(self.files, self.schema) if self.files else ds.dataset(self.schema.empty_table())

    def batches(self, columns: Sequence[str] | None = None) -> Iterator[pa.RecordBatch]:
        """The rows, batch by batch."""
        if not self.files:
            return
        yield from _batches(self.dataset(), columns)


#: Read what is asked when it is asked: pre-buffering reads whole row groups ahead of a slow consumer.
_FORMAT = ds.ParquetFileFormat(default_fragment_scan_options=ds.ParquetFragmentScanOptions(pre_buffer=False))


def scan(files: Sequence[str], schema: pa.Schema) -> ds.Dataset:
    """Parquet ``files`` read as ``schema`` (a column an older file lacks reads as null)."""
    return ds.dataset(list(files), schema=schema, format=_FORMAT)


def _batches(dataset: ds.Dataset, columns: Sequence[str] | None) -> Iterator[pa.RecordBatch]:
    # One batch at a time: with threads, the scanner reads ahead of a slow consumer (a Parquet
    # writer) without bound, so a run's memory would grow with its output again.
    yield from dataset.to_batches(
        columns=list(columns) if columns is not None else None,
        batch_size=BATCH_ROWS,
        batch_readahead=1,
        fragment_readahead=1,
        use_threads=False,
    )
