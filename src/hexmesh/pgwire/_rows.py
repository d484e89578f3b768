"""RowDescription and whole-batch DataRow encoding from Arrow record batches."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

from . import _vector as v
from ._binary import encode_binary
from ._messages import message
from ._text import encode_text, encode_vector
from .errors import PgError, SqlState
from .types import Oid, PgType, arrow_to_pg

_HEAD = np.dtype([("kind", "u1"), ("len", ">i4"), ("ncols", ">i2")])


@dataclass(frozen=True)
class Column:
    """A result column: its name, the Arrow field it comes from and the PG type announced."""

    name: str
    field: pa.Field
    pgtype: PgType


def columns_of(schema: pa.Schema) -> list[Column]:
    """PG columns for an Arrow schema."""
    return [Column(str(f.name), f, arrow_to_pg(f)) for f in schema]


def expand_formats(codes: Sequence[int], count: int, kind: Literal["parameter", "result"]) -> list[int]:
    """Expand Bind's parameter or result format codes (none, one for all, or one each) to one per item."""
    if not codes:
        return [0] * count
    if len(codes) == 1:
        codes = [codes[0]] * count
    elif len(codes) != count:
        counted = f"{count} parameters" if kind == "parameter" else f"query has {count} columns"
        raise PgError(SqlState.PROTOCOL_VIOLATION, f"bind message has {len(codes)} {kind} formats but {counted}")
    for code in codes:
        if code not in (0, 1):
            raise PgError(SqlState.PROTOCOL_VIOLATION, f"unsupported format code: {code}")
    return list(codes)


def row_description(cols: Sequence[Column], formats: Sequence[int]) -> bytes:
    """Build RowDescription; formats are 0 (text) or 1 (binary) per column."""
    parts = [struct.pack("!h", len(cols))]
    for col, fmt in zip(cols, formats, strict=True):
        parts.append(col.name.encode() + b"\0")
        t = col.pgtype
        parts.append(struct.pack("!ihihih", 0, 0, t.oid, t.typlen, t.typmod, fmt))
    return message(b"T", b"".join(parts))


def encode_batch(batch: pa.RecordBatch, cols: Sequence[Column], formats: Sequence[int]) -> memoryview:
    """Encode every row of a batch as DataRow messages in one buffer, column by column.

    The buffer is handed to the socket as it is (a view, not a copy of tens of megabytes).
    """
    n = batch.num_rows
    if n == 0:
        return memoryview(b"")
    fields: list[v.Piece] = []
    row_len = np.full(n, 4 + 2, dtype=np.int64)
    for i, (col, fmt) in enumerate(zip(cols, formats, strict=True)):
        arr = batch.column(i)
        body: v.Piece
        if fmt == 1:
            body = encode_binary(arr, col.pgtype.oid)
            lens = body.lens if arr.null_count == 0 else np.where(v.valid_mask(arr), body.lens, -1)
        else:
            # The text array is a piece as it is: its values are not copied before the rows are built.
            body = encode_vector(arr) if col.pgtype.oid == Oid.INT2VECTOR else encode_text(arr)
            lens = v.lengths(body)
        fields.append(v.big_endian(lens, ">i4"))
        fields.append(body)
        row_len += 4 + np.maximum(lens, 0)
    head = np.empty(n, dtype=_HEAD)
    head["kind"] = ord("D")
    head["len"] = row_len
    head["ncols"] = len(cols)
    rows = v.concat([v.fixed(head.view(np.uint8).reshape(n, 7)), *fields])
    return rows.data[: int(rows.starts[-1] + rows.lens[-1])].data
