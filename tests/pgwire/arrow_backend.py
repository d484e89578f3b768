"""A pure-Arrow backend for the type and streaming tests: fixed tables and generated rows."""

from __future__ import annotations

import datetime as dt
import re
import threading
import uuid
from collections.abc import Iterator, Sequence
from decimal import Decimal

import pyarrow as pa

from hexmesh.pgwire import (
    CommandResult,
    Description,
    PgError,
    Result,
    RowsResult,
    SessionContext,
    SqlState,
)

UTC = dt.UTC
Y2K = dt.datetime(2000, 1, 1)
SECOND = dt.timedelta(seconds=1)
TSTZ = dt.datetime(2024, 5, 6, 7, 8, 9, 500000, tzinfo=UTC)
IV = pa.MonthDayNano([0, 3, 3_723_000_004_000])
UUID1 = uuid.UUID("12345678-1234-5678-1234-567812345678")

# Column name -> (Arrow type, field metadata, values for three rows: typical, edge, null).
SCALARS: dict[str, tuple[pa.DataType, dict[bytes, bytes] | None, list[object]]] = {
    "b": (pa.bool_(), None, [True, False, None]),
    "i2": (pa.int16(), None, [12, -32768, None]),
    "i4": (pa.int32(), None, [123456, -2147483648, None]),
    "i8": (pa.int64(), None, [2**40, -(2**63), None]),
    "f4": (pa.float32(), None, [1.5, -0.25, None]),
    "f8": (pa.float64(), None, [3.141592653589793, -1e300, None]),
    "num": (pa.decimal128(20, 4), None, [Decimal("12345.6789"), Decimal("-0.0001"), None]),
    "t": (pa.string(), None, ["héllo wörld", "", None]),
    "vc": (pa.string(), {b"pg_oid": b"1043"}, ["a,b {c} \"d\" \\e", "NULL", None]),
    "by": (pa.binary(), None, [b"\x00\x01\xfe\xff", b"", None]),
    "d": (pa.date32(), None, [dt.date(2024, 2, 29), dt.date(1970, 1, 1), None]),
    "tm": (pa.time64("us"), None, [dt.time(13, 14, 15, 123456), dt.time(0, 0), None]),
    "ts": (pa.timestamp("us"), None, [dt.datetime(2024, 5, 6, 7, 8, 9, 10), Y2K - SECOND, None]),
    "tstz": (pa.timestamp("us", tz="UTC"), None, [TSTZ, Y2K.replace(tzinfo=UTC), None]),
    "iv": (pa.month_day_nano_interval(), None, [IV, pa.MonthDayNano([0, -1, 0]), None]),
    "u": (pa.uuid(), None, [UUID1.bytes, uuid.UUID(int=0).bytes, None]),
    "j": (pa.json_(), None, ['{"a": [1, 2, null]}', "[]", None]),
    "jb": (pa.string(), {b"pg_oid": b"3802"}, ['{"k": "v"}', '"s"', None]),
}  # fmt: skip


def alltypes() -> pa.Table:
    """Every supported scalar type, and a one-dimensional array column of each."""
    fields, arrays = [], []
    for name, (dtype, meta, values) in SCALARS.items():
        fields.append(pa.field(name, dtype, metadata=meta))
        arrays.append(pa.array(values, dtype))
        list_meta = {b"pg_oid": str(_ARRAY_OIDS[name]).encode()} if meta else None
        fields.append(pa.field(name + "_arr", pa.list_(dtype), metadata=list_meta))
        flat = pa.array([values[0], None, values[1]], dtype)
        offsets = pa.array([0, 3, 3, 3], pa.int32())
        mask = pa.array([False, False, True])
        arrays.append(pa.ListArray.from_arrays(offsets, flat, mask=mask))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


_ARRAY_OIDS = {"vc": 1015, "jb": 3807}


def generated(rows: int, batch: int = 10_000) -> Iterator[pa.RecordBatch]:
    """Rows made on demand, so a huge result never exists in memory at once."""
    for start in range(0, rows, batch):
        n = min(batch, rows - start)
        ids = pa.array(range(start, start + n), pa.int64())
        yield pa.record_batch({"id": ids, "label": pa.array([f"row {i}" for i in range(start, start + n)])})


class ArrowSession:
    """Answers 'select * from alltypes' and 'select * from generate(N)'."""

    def __init__(self, ctx: SessionContext, closed: list[ArrowSession]) -> None:
        self.ctx = ctx
        self._closed = closed
        self.cancelled = threading.Event()
        self.produced = 0

    def _result(self, sql: str) -> Result:
        text = " ".join(sql.lower().split())
        match = re.fullmatch(r"select (.+) from alltypes", text)
        if match:
            table = alltypes()
            if match.group(1) != "*":
                table = table.select([c.strip() for c in match.group(1).split(",")])
            return RowsResult(table.schema, table.to_batches())
        match = re.fullmatch(r"select \* from generate\((\d+)\)", text)
        if match:
            schema = pa.schema([("id", pa.int64()), ("label", pa.string())])
            return RowsResult(schema, self._cancellable(generated(int(match.group(1)))))
        literal = re.fullmatch(r"select (\d+)", text)
        if literal:
            table = pa.table({"?column?": pa.array([int(literal.group(1))], pa.int64())})
            return RowsResult(table.schema, table.to_batches())
        if text in ("begin", "commit", "rollback"):
            return CommandResult(text.upper())
        raise PgError(SqlState.UNDEFINED_TABLE, f"unknown query {sql!r}", hint="try alltypes")

    def _cancellable(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if self.cancelled.is_set():
                raise PgError(SqlState.QUERY_CANCELED, "canceling statement due to user request")
            self.produced += batch.num_rows
            yield batch

    def describe(self, sql: str, param_types: Sequence[int]) -> Description:
        """Schema of the answer, without running the generator."""
        result = self._result(sql)
        return Description(list(param_types), result.schema if isinstance(result, RowsResult) else None)

    def execute(self, sql: str, params: Sequence[object]) -> Result:
        """Return the table or generator."""
        self.cancelled.clear()
        return self._result(sql)

    def cancel(self) -> None:
        """Stop a running generator at its next batch."""
        self.cancelled.set()

    def close(self) -> None:
        """Record that the server closed us."""
        self._closed.append(self)


class ArrowBackend:
    """Factory of ArrowSessions; keeps them for tests to inspect."""

    def __init__(self) -> None:
        self.sessions: list[ArrowSession] = []
        self.closed: list[ArrowSession] = []

    def __call__(self, ctx: SessionContext) -> ArrowSession:
        session = ArrowSession(ctx, self.closed)
        self.sessions.append(session)
        return session
