"""Prepared statements and portals of the extended protocol, and batch-wise row fetching."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

from ._copy import CopySpec
from ._rows import Column, columns_of, encode_batch
from .backend import Description, Result, RowsResult
from .errors import PgError, SqlState


@dataclass
class Statement:
    """A parsed statement: SQL, declared parameter types, and its description once known."""

    sql: str
    param_types: list[int]
    copy: CopySpec | None = None
    description: Description | None = None


@dataclass
class Portal:
    """A bound statement with its parameters, result formats and, once run, its cursor."""

    statement: Statement
    params: list[object]
    format_codes: list[int]
    result: Result | None = None
    columns: list[Column] | None = None
    formats: list[int] = field(default_factory=list)
    target: pa.Schema | None = None
    rows_sent: int = 0
    finished: bool = False
    _source: Iterator[pa.RecordBatch] | None = None
    _pending: pa.RecordBatch | None = None

    def attach(self, result: Result) -> None:
        """Remember the backend's result and prepare the cursor."""
        self.result = result
        if not isinstance(result, RowsResult):
            return
        described = self.statement.description
        schema = result.schema
        promised = described.schema if described is not None else None
        if promised is not None and promised != schema and len(promised) == len(schema):
            # The client may decode with the types Describe announced; keep our promise.
            self.target = schema = promised
        self.columns = columns_of(schema)
        self._source = iter(result.batches)

    def _next_batch(self) -> pa.RecordBatch | None:
        if self._pending is not None:
            batch, self._pending = self._pending, None
            return batch
        assert self._source is not None
        while True:
            try:
                batch = next(self._source)
            except StopIteration:
                return None
            if isinstance(batch, pa.Table):
                batch = batch.combine_chunks().to_batches()[0] if batch.num_rows else None
                if batch is None:
                    continue
            if batch.num_rows:
                if self.target is not None:
                    batch = _cast(batch, self.target)
                return batch

    def next_rows(self, limit: int) -> pa.RecordBatch | None:
        """The next at most limit rows as one batch, or None at the end (run in a thread)."""
        batch = self._next_batch()
        if batch is None:
            self.finished = True
            return None
        if limit < batch.num_rows:
            self._pending = batch.slice(limit)
            batch = batch.slice(0, limit)
        self.rows_sent += batch.num_rows
        return batch

    def fetch(self, limit: int, chunk_rows: int) -> tuple[memoryview, int, bool]:
        """Encode up to min(limit, chunk_rows) rows as DataRows: (bytes, rows, exhausted)."""
        assert self.columns is not None
        batch = self.next_rows(min(limit, chunk_rows))
        if batch is None:
            return memoryview(b""), 0, True
        return encode_batch(batch, self.columns, self.formats), batch.num_rows, False

    def has_more(self) -> bool:
        """Whether another row is available (fetches ahead one batch; run in a thread)."""
        if self.finished:
            return False
        batch = self._next_batch()
        if batch is None:
            self.finished = True
            return False
        self._pending = batch
        return True

    def close(self) -> None:
        """Release the backend's result."""
        if isinstance(self.result, RowsResult):
            self.result.close()
        self._source = None
        self._pending = None


def _cast(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    try:
        arrays = [batch.column(i).cast(schema.field(i).type) for i in range(len(schema))]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise PgError(
            SqlState.INTERNAL_ERROR,
            "result does not match the row description sent earlier",
            detail=str(exc),
        ) from exc
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
