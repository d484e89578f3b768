"""DataRows built a whole batch at a time are byte for byte the rows built one value at a time."""

from __future__ import annotations

import struct
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from hexmesh.pgwire import _vector as v
from hexmesh.pgwire._binary import encode_binary
from hexmesh.pgwire._numeric import numeric_to_bytes
from hexmesh.pgwire._rows import Column, columns_of, encode_batch
from hexmesh.pgwire._text import encode_text, encode_vector
from hexmesh.pgwire.types import Oid

from .arrow_backend import alltypes


def _one_by_one(batch: pa.RecordBatch, cols: list[Column], formats: list[int]) -> bytes:
    """The reference: each value encoded on its own, each DataRow packed with struct."""
    out = bytearray()
    for i in range(batch.num_rows):
        fields = b""
        for k, (col, fmt) in enumerate(zip(cols, formats, strict=True)):
            value = batch.column(k).slice(i, 1)
            if not value.is_valid()[0].as_py():
                fields += struct.pack("!i", -1)
                continue
            if fmt == 1:
                body = encode_binary(value, col.pgtype.oid).row(0)
            else:
                text = encode_vector(value) if col.pgtype.oid == Oid.INT2VECTOR else encode_text(value)
                body = text[0].as_py().encode()
            fields += struct.pack("!i", len(body)) + body
        out += b"D" + struct.pack("!ih", 4 + 2 + len(fields), len(cols)) + fields
    return bytes(out)


def _every_type(repeat: int) -> pa.RecordBatch:
    """alltypes' three rows (typical, edge, all null) repeated, as one batch."""
    table = pa.concat_tables([alltypes()] * repeat).combine_chunks()
    return table.to_batches()[0]


@pytest.mark.parametrize("fmt", [0, 1], ids=["text", "binary"])
@pytest.mark.parametrize(("offset", "length"), [(0, 30), (1, 17), (5, 1), (29, 1)])
def test_every_type_matches_the_one_value_at_a_time_rows(fmt: int, offset: int, length: int) -> None:
    batch = _every_type(10).slice(offset, length)
    cols = columns_of(batch.schema)
    formats = [fmt] * len(cols)
    assert encode_batch(batch, cols, formats) == _one_by_one(batch, cols, formats)


def test_mixed_formats_and_a_column_alone_match() -> None:
    batch = _every_type(4)
    cols = columns_of(batch.schema)
    mixed = [i % 2 for i in range(len(cols))]
    assert encode_batch(batch, cols, mixed) == _one_by_one(batch, cols, mixed)
    for k in range(batch.num_columns):
        alone = batch.select([k])
        for fmt in (0, 1):
            assert encode_batch(alone, cols[k : k + 1], [fmt]) == _one_by_one(alone, cols[k : k + 1], [fmt])


def _strings_with_hidden_bytes() -> pa.Array:
    """Null slots that still span bytes (Arrow allows it): they must not leak into the rows."""
    data = b"aaHIDDENbbb" + b"SECRET" + b"c"
    offsets = np.array([0, 2, 8, 11, 17, 18], dtype=np.int32)
    validity = pa.py_buffer(np.packbits(np.array([1, 0, 1, 0, 1], dtype=np.uint8), bitorder="little").tobytes())
    return pa.Array.from_buffers(pa.string(), 5, [validity, pa.py_buffer(offsets), pa.py_buffer(data)])


@pytest.mark.parametrize("fmt", [0, 1], ids=["text", "binary"])
def test_null_slots_that_span_bytes_send_nothing_but_a_null(fmt: int) -> None:
    strings = _strings_with_hidden_bytes()
    batch = pa.record_batch({"s": strings, "i": pa.array(range(5), pa.int64()), "t": strings})
    cols = columns_of(batch.schema)
    encoded = bytes(encode_batch(batch, cols, [fmt] * 3))
    assert b"HIDDEN" not in encoded and b"SECRET" not in encoded
    assert encoded == _one_by_one(batch, cols, [fmt] * 3)


def test_batches_of_different_sizes_and_shapes_in_turn() -> None:
    # The interleaving index is remembered per size and shape: every combination must still be right.
    rng = np.random.default_rng(7)
    for n in (1, 2, 1000, 1, 999, 1000):
        words = [None if x % 11 == 0 else "w" * int(x % 13) for x in rng.integers(0, 1000, n)]
        batch = pa.record_batch(
            {
                "id": pa.array(rng.integers(-(2**40), 2**40, n), pa.int64()),
                "word": pa.array(words, pa.string()),
                "score": pa.array(rng.random(n), pa.float64()),
            }
        )
        cols = columns_of(batch.schema)
        for formats in ([0, 0, 0], [1, 1, 1], [1, 0, 1]):
            assert encode_batch(batch, cols, formats) == _one_by_one(batch, cols, formats)


def test_concat_of_fixed_var_and_overlapping_pieces() -> None:
    n = 4
    fixed = v.fixed(np.arange(n * 3, dtype=np.uint8).reshape(n, 3))
    data = np.frombuffer(b"abcdefgh", dtype=np.uint8)
    # Rows that overlap and go backwards in their buffer (as a grouped or sliced Var may).
    overlapping = v.Var(data, np.array([4, 0, 1, 1], dtype=np.int64), np.array([3, 2, 0, 4], dtype=np.int64))
    gaps = v.Var(data, np.array([0, 2, 5, 7], dtype=np.int64), np.array([1, 2, 1, 1], dtype=np.int64))
    joined = v.concat([fixed, overlapping, v.constant(b"|", n), gaps])
    assert [joined.row(i) for i in range(n)] == [
        b"\x00\x01\x02efg|a",
        b"\x03\x04\x05ab|cd",
        b"\x06\x07\x08|f",
        b"\x09\x0a\x0bbcde|h",
    ]


@pytest.mark.parametrize("fmt", [0, 1], ids=["text", "binary"])
def test_columns_of_one_width_are_laid_as_a_matrix_and_still_match(fmt: int) -> None:
    # Ids, codes and whole-second times have one width in a batch; alone or among varying
    # columns they take the fixed-width path, sliced or not.
    n = 500
    codes = pa.array([f"p{i:06d}" for i in range(n)])
    times = pa.array([1_764_892_800 + i for i in range(n)], pa.timestamp("s", "UTC"))
    uniform = pa.record_batch({"code": codes, "at": times, "flag": pa.array([True] * n)})
    mixed = pa.record_batch({"code": codes, "n": pa.array(range(n), pa.int64()), "at": times})
    for batch in (uniform, uniform.slice(3, 40), mixed, mixed.slice(7, 100)):
        cols = columns_of(batch.schema)
        formats = [fmt] * batch.num_columns
        assert encode_batch(batch, cols, formats) == _one_by_one(batch, cols, formats)


def test_binary_numerics_column_wise_are_numeric_send_bytes() -> None:
    # Scales 0..15 whose unscaled values fit int64 are encoded column-wise; wider ones per value.
    rng = np.random.default_rng(11)
    for scale in (0, 1, 2, 3, 4, 5, 8, 12, 15, 16, 20):
        unscaled: list[int | None] = [int(x) for x in rng.integers(-(10**17), 10**17, 300)]
        unscaled += [0, 1, -1, 10**18 - 1, -(10**18) + 1, 10_000, 2**63 - 1, -(2**63) + 1, None]
        values = [None if u is None else Decimal(u).scaleb(-scale) for u in unscaled]
        wide = [Decimal(10**25).scaleb(-scale), None]  # beyond int64: the per-value path
        for column in (values, values + wide):
            arr = pa.array(column, pa.decimal128(38, scale)).slice(2)
            batch = pa.record_batch({"n": arr})
            cols = columns_of(batch.schema)
            assert cols[0].pgtype.oid == Oid.NUMERIC
            assert encode_batch(batch, cols, [1]) == _one_by_one_numeric(arr)


def _one_by_one_numeric(arr: pa.Array) -> bytes:
    out = bytearray()
    for value in arr.to_pylist():
        body = b"" if value is None else numeric_to_bytes(value)
        field = struct.pack("!i", -1) if value is None else struct.pack("!i", len(body)) + body
        out += b"D" + struct.pack("!ih", 4 + 2 + len(field), 1) + field
    return bytes(out)
