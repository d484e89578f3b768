"""How a source file becomes an Arrow table: the options of ``source:``, with COPY's and DuckDB's defaults.

An unquoted empty CSV field is NULL in every column (PostgreSQL ``COPY ... (FORMAT csv)`` and
DuckDB's ``read_csv`` do the same); a quoted empty field ``""`` is an empty string, as in COPY.
``nullValues`` adds values that mean NULL; ``emptyAsNull: false`` keeps empty text fields as ''.
``types`` forces column types (``decimal(10,2)`` keeps every digit of 1.98, which a guessed double
would not); ``dateFormat`` / ``timestampFormat`` turn text columns that all match into dates or
UTC timestamps.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.json as pjson
import pyarrow.parquet as pq

from hexmesh.spec import SourceSpec

__all__ = ["parse_file", "source_type"]

_DECIMAL = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")
_TYPES: dict[str, pa.DataType] = {
    "string": pa.large_string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "time": pa.time64("us"),
}
_TEXT = (pa.string(), pa.large_string())


def source_type(text: str) -> pa.DataType:
    """The Arrow type of a ``types:`` entry (``integer``, ``decimal(10,2)``...)."""
    match = _DECIMAL.match(text)
    if match:
        return pa.decimal128(int(match.group(1)), int(match.group(2)))
    return _TYPES[text]


def parse_file(path: Path, spec: SourceSpec) -> pa.Table:
    """Read one file as ``spec`` says; Arrow's own errors propagate (the caller names the file)."""
    if spec.format == "parquet":
        return pq.read_table(path)
    # Dates and timestamps in a format of their own are read as text first, then parsed.
    timed = {c: t for c, t in spec.types.items() if t in ("date", "timestamp") and _formatted(spec, t)}
    typed = {c: source_type(t) for c, t in spec.types.items() if c not in timed}
    if spec.format == "csv":
        table = _csv(path, spec, typed | {c: pa.large_string() for c in timed})
    else:
        table = pjson.read_json(path)
        table = _cast(table, typed)
    for column, kind in timed.items():
        if column in table.column_names:
            table = _set(table, column, _parse_times(table.column(column), spec, kind, strict=True))
    return _guess_times(table, spec, exclude=set(spec.types))


def _formatted(spec: SourceSpec, kind: str) -> bool:
    return (spec.date_format if kind == "date" else spec.timestamp_format) is not None


def _csv(path: Path, spec: SourceSpec, types: dict[str, pa.DataType]) -> pa.Table:
    nulls = [*([""] if spec.empty_as_null else []), *spec.null_values]
    table = pcsv.read_csv(
        path,
        read_options=pcsv.ReadOptions(autogenerate_column_names=not spec.header, encoding=spec.encoding),
        parse_options=pcsv.ParseOptions(delimiter=spec.delimiter, quote_char=spec.quote),
        convert_options=pcsv.ConvertOptions(
            # Empty numbers are NULL either way (there is no empty number); text follows emptyAsNull.
            null_values=["", *spec.null_values],
            strings_can_be_null=spec.empty_as_null,
            quoted_strings_can_be_null=False,
            decimal_point=spec.decimal_separator,
            column_types=types,
        ),
    )
    if spec.empty_as_null or not spec.null_values:
        return table
    # Text columns were read with every value kept: only the declared null values become NULL.
    marks = pa.array(nulls, pa.string())
    for index, field in enumerate(table.schema):
        if field.type in _TEXT:
            column = table.column(index)
            hit = pc.is_in(column, value_set=marks.cast(field.type))
            table = table.set_column(index, field.name, pc.if_else(hit, pa.scalar(None, field.type), column))
    return table


def _cast(table: pa.Table, types: dict[str, pa.DataType]) -> pa.Table:
    for column, kind in types.items():
        if column in table.column_names and table.schema.field(column).type != kind:
            source = table.column(column)
            # JSON numbers arrive as doubles: through their text, a decimal keeps the digits written.
            if pa.types.is_decimal(kind) and pa.types.is_floating(source.type):
                source = pc.cast(source, pa.string())
            table = _set(table, column, pc.cast(source, kind))
    return table


def _set(table: pa.Table, column: str, values: pa.Array | pa.ChunkedArray) -> pa.Table:
    return table.set_column(table.column_names.index(column), column, values)


def _parse_times(column: pa.ChunkedArray, spec: SourceSpec, kind: str, *, strict: bool) -> pa.Array | pa.ChunkedArray:
    fmt = spec.date_format if kind == "date" else spec.timestamp_format
    assert fmt is not None
    text = pc.cast(column, pa.string()) if column.type != pa.string() else column
    parsed = pc.strptime(text, format=fmt, unit="us", error_is_null=not strict)
    if kind == "date":
        return pc.cast(parsed, pa.date32())
    return pc.assume_timezone(parsed, "UTC") if parsed.type.tz is None else parsed


def _guess_times(table: pa.Table, spec: SourceSpec, *, exclude: set[str]) -> pa.Table:
    """Text columns whose every value matches ``dateFormat`` (or ``timestampFormat``) become dates (timestamps)."""
    kinds = [k for k in ("date", "timestamp") if _formatted(spec, k)]
    if not kinds:
        return table
    for field in table.schema:
        if field.name in exclude or field.type not in _TEXT:
            continue
        column = table.column(field.name)
        if column.null_count == len(column):
            continue
        for kind in kinds:
            try:
                parsed = _parse_times(column, spec, kind, strict=True)
            except (pa.ArrowInvalid, ValueError):
                continue
            table = _set(table, field.name, parsed)
            break
    return table
