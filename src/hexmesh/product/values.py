"""Cell values as text, the same on every format: numbers as numbers, times in one ISO 8601 form.

A timestamp is ``2021-01-01T00:00:00.000000Z`` (UTC, microseconds, ``Z``) in JSON lines, CSV
and event data alike; a date is ``2021-01-01``; a time of day ``13:45:00.000000``. Decimals are
JSON numbers: JSON-lines downloads write every digit (``1.98``, never ``"1.98"``); event data,
which goes through a JSON encoder that only knows doubles, writes a decimal as a number when a
double holds it exactly (up to 15 significant digits) and as a string of every digit otherwise.
Bytes are hex.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["TIMESTAMP_FORMAT", "csv_batch", "csv_schema", "iso_time", "json_column", "json_lines", "json_value"]

#: strftime of a UTC timestamp with microseconds (Arrow's %S carries the fraction of its unit).
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_PY_TIMESTAMP = "%Y-%m-%dT%H:%M:%S.%fZ"


def iso_time(value: datetime) -> str:
    """A moment as ``2021-01-01T00:00:00.000000Z`` (naive times are UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime(_PY_TIMESTAMP)


def _decimal(value: Decimal) -> float | str:
    number = float(value)
    return number if Decimal(repr(number)) == value else str(value)


def json_value(value: Any) -> Any:
    """A cell as a JSON-ready value (for encoders that know only JSON's own types)."""
    if isinstance(value, datetime):
        return iso_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def _plain(kind: pa.DataType) -> bool:
    """Whether Python values of ``kind`` are JSON as they are."""
    return bool(
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_null(kind)
    )


def _times(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Timestamps as ISO text in UTC with microseconds: one vectorised pass."""
    kind = column.type
    if kind.tz is None:
        column = pc.assume_timezone(column.cast(pa.timestamp(kind.unit)), "UTC")
    return pc.strftime(column.cast(pa.timestamp("us", tz="UTC"), safe=False), format=TIMESTAMP_FORMAT)


def json_column(column: pa.Array | pa.ChunkedArray) -> list[Any]:
    """A column as JSON-ready Python values, converted as a whole where Arrow can."""
    kind = column.type
    if _plain(kind):
        return list(column.to_pylist())
    if pa.types.is_timestamp(kind):
        return list(_times(column).to_pylist())
    return [json_value(v) for v in column.to_pylist()]


def json_lines(batch: pa.RecordBatch) -> Iterator[str]:
    """The rows of ``batch`` as JSON lines; decimals written with every digit, as JSON numbers."""
    names = batch.schema.names
    if not any(pa.types.is_decimal(f.type) for f in batch.schema):
        columns = [json_column(c) for c in batch.columns]
        for row in zip(*columns, strict=True):
            yield json.dumps(dict(zip(names, row, strict=True))) + "\n"
        return
    keys = [json.dumps(name) + ": " for name in names]
    texts = [
        ["null" if v is None else str(v) for v in c.to_pylist()]
        if pa.types.is_decimal(c.type)
        else [json.dumps(v) for v in json_column(c)]
        for c in batch.columns
    ]
    for row in zip(*texts, strict=True):
        yield "{" + ", ".join(k + v for k, v in zip(keys, row, strict=True)) + "}\n"


def csv_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``batch`` with timestamps and times as the same ISO text JSON carries (CSV writers differ)."""
    if not any(pa.types.is_timestamp(f.type) or pa.types.is_time(f.type) for f in batch.schema):
        return batch
    columns = []
    for column in batch.columns:
        if pa.types.is_timestamp(column.type):
            column = _times(column)
        elif pa.types.is_time(column.type):
            column = pc.strftime(column.cast(pa.time64("us")), format="%H:%M:%S")
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def csv_schema(schema: pa.Schema) -> pa.Schema:
    """The schema of :func:`csv_batch`'s batches."""
    return pa.schema(
        [
            pa.field(f.name, pa.string()) if pa.types.is_timestamp(f.type) or pa.types.is_time(f.type) else f
            for f in schema
        ]
    )
