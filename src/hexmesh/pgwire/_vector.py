"""Vectorized per-row byte strings: the primitive every result encoder is built on."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


@dataclass
class Var:
    """Row i is data[starts[i] : starts[i] + lens[i]]; width is set when all rows are contiguous."""

    data: U8
    starts: I64
    lens: I64
    width: int | None = None

    def __len__(self) -> int:
        return len(self.lens)

    def row(self, i: int) -> bytes:
        """Bytes of one row (for tests and slow paths)."""
        s = int(self.starts[i])
        return self.data[s : s + int(self.lens[i])].tobytes()


def fixed(matrix: U8) -> Var:
    """Wrap an (n, w) uint8 matrix, each row being one value of w bytes."""
    n, w = matrix.shape
    data = np.ascontiguousarray(matrix).reshape(-1)
    return Var(data, np.arange(n, dtype=np.int64) * w, np.full(n, w, dtype=np.int64), w)


def constant(value: bytes, n: int) -> Var:
    """The same bytes for each of n rows."""
    row = np.frombuffer(value, dtype=np.uint8)
    return fixed(np.broadcast_to(row, (n, len(value))))


def big_endian(values: npt.NDArray[np.generic], dtype: str) -> Var:
    """Fixed-width big-endian encoding of a numeric numpy array, e.g. dtype '>i8'."""
    raw = np.ascontiguousarray(values, dtype=np.dtype(dtype))
    return fixed(raw.view(np.uint8).reshape(len(raw), -1))


def from_arrow(arr: pa.Array) -> Var:
    """Zero-copy view of a string/binary Arrow array's values (null rows get length 0)."""
    arr = _offsets_array(arr)
    n = len(arr)
    data: U8 = (
        np.frombuffer(arr.buffers()[2], dtype=np.uint8) if arr.buffers()[2] is not None else np.empty(0, np.uint8)
    )
    offsets = _offsets(arr)
    lens: I64 = np.diff(offsets)
    if arr.null_count:
        lens[valid_mask(arr) == 0] = 0
    return Var(data, offsets[:n], lens)


def lengths(arr: pa.Array) -> I64:
    """Byte length of each value of a string/binary Arrow array, -1 where it is null."""
    lens: I64 = np.diff(_offsets(_offsets_array(arr)))
    if arr.null_count:
        lens[valid_mask(arr) == 0] = -1
    return lens


def _offsets_array(arr: pa.Array) -> pa.Array:
    if pa.types.is_string_view(arr.type) or pa.types.is_binary_view(arr.type):
        return arr.cast(pa.large_binary())
    return arr


def _offsets(arr: pa.Array) -> I64:
    large = pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type)
    raw = np.frombuffer(arr.buffers()[1], dtype=np.int64 if large else np.int32)
    return raw[arr.offset : arr.offset + len(arr) + 1].astype(np.int64)


def valid_mask(arr: pa.Array) -> Mask:
    """Boolean numpy mask, True where the value is not null."""
    if arr.null_count == 0:
        return np.ones(len(arr), dtype=np.bool_)
    mask: Mask = arr.is_valid().to_numpy(zero_copy_only=False)
    return mask


def to_numpy(arr: pa.Array, fill: object = 0) -> npt.NDArray[np.generic]:
    """Values of a primitive Arrow array as numpy, nulls replaced by fill."""
    if arr.null_count:
        arr = arr.fill_null(fill)
    out: npt.NDArray[np.generic] = arr.to_numpy(zero_copy_only=False)
    return out


def _contiguous(col: Var) -> bool:
    if len(col) == 0:
        return True
    expected = np.empty(len(col), dtype=np.int64)
    expected[0] = col.starts[0]
    np.cumsum(col.lens[:-1], out=expected[1:])
    expected[1:] += col.starts[0]
    return bool(np.array_equal(expected, col.starts))


def _scatter(out: U8, dst: I64, col: Var) -> None:
    """Copy each row of col to out at its dst offset, using index arithmetic instead of loops."""
    total = int(col.lens.sum())
    if total == 0:
        return
    excl = np.cumsum(col.lens) - col.lens
    within = np.arange(total, dtype=np.int64)
    if _contiguous(col):
        src = col.data[int(col.starts[0]) : int(col.starts[0]) + total]
    else:
        src = col.data[np.repeat(col.starts - excl, col.lens) + within]
    out[np.repeat(dst - excl, col.lens) + within] = src


#: A column of row values: a Var, or a string/binary Arrow array as it is (its nulls add no bytes).
Piece: TypeAlias = Var | pa.Array


def concat(cols: Sequence[Piece]) -> Var:
    """Concatenate the columns row by row: row i is cols[0][i] + cols[1][i] + ..."""
    n = len(cols[0])
    if n == 0:
        return Var(np.empty(0, np.uint8), np.zeros(0, np.int64), np.zeros(0, np.int64))
    # A column whose values all have one size in this batch (ids, codes, whole-second times,
    # uuids) is fixed-width here: it joins the 2-D matrix instead of being gathered value by value.
    pieces = [_fixed_if_uniform(c) for c in cols]
    fixed_width = [c for c in pieces if isinstance(c, Var) and c.width is not None]
    if len(fixed_width) == len(pieces):
        # Every row has the same size: fill a 2-D matrix column slice by column slice.
        return _matrix(fixed_width)
    if len(pieces) == 1 and isinstance(pieces[0], Var):
        return _pack([pieces[0]])
    return _interleave(pieces)


def _fixed_if_uniform(col: Piece) -> Piece:
    """The piece as a fixed-width Var (without a copy) when its rows are contiguous and of one size."""
    if isinstance(col, Var):
        if col.width is not None or not np.all(col.lens == col.lens[0]) or not _contiguous(col):
            return col
        width, first = int(col.lens[0]), int(col.starts[0])
        return fixed(col.data[first : first + len(col) * width].reshape(len(col), width))
    arr = _offsets_array(col)
    if arr.null_count:
        return col
    offsets = _offsets(arr)
    width = int(offsets[1] - offsets[0])
    if int(offsets[-1] - offsets[0]) != len(arr) * width or not np.all(np.diff(offsets) == width):
        return col
    buffer = arr.buffers()[2]
    data: U8 = np.frombuffer(buffer, dtype=np.uint8) if buffer is not None else np.empty(0, np.uint8)
    first = int(offsets[0])
    return fixed(data[first : first + len(arr) * width].reshape(len(arr), width))


def _interleave(cols: Sequence[Piece]) -> Var:
    # One gather in C++ does the interleaving: the pieces (runs of fixed-width columns merged
    # into one matrix first) are laid end to end as one large_binary array, and Arrow's take
    # copies them out in row-major order, so its data buffer is every row's bytes in a row.
    n = len(cols[0])
    pieces: list[Piece] = []
    run: list[Var] = []
    for c in [*cols, None]:
        if isinstance(c, Var) and c.width is not None:
            run.append(c)
            continue
        if run:
            pieces.append(_matrix(run) if len(run) > 1 else run[0])
            run = []
        if c is not None:
            pieces.append(c)
    arrays: list[pa.Array] = []
    strides: list[int] = []
    for piece in pieces:
        array, stride = _elements(piece)
        arrays.append(array)
        strides.append(stride)
    taken = pa.concat_arrays(arrays).take(_interleaving(n, tuple(strides)))
    offsets = np.frombuffer(taken.buffers()[1], dtype=np.int64)[: n * len(pieces) + 1]
    buffer = taken.buffers()[2]
    data: U8 = np.frombuffer(buffer, dtype=np.uint8) if buffer is not None else np.empty(0, np.uint8)
    ends = offsets[len(pieces) :: len(pieces)]
    starts = offsets[: -1 : len(pieces)]
    return Var(data, starts, ends - starts)


#: Indices kept for reuse are at most this many (4 bytes each); a wider result makes its own each time.
_KEPT_INDEX = 1 << 21


def _interleaving(n: int, strides: tuple[int, ...]) -> pa.Array:
    """Indices that take row 0 of every piece, then row 1 of every piece, ... (pieces laid end to end).

    Batches of one query have the same size and shape, so the index is made once per query.
    """
    if n * len(strides) <= _KEPT_INDEX:
        return _kept_interleaving(n, strides)
    return _make_interleaving(n, strides)


@functools.lru_cache(maxsize=4)
def _kept_interleaving(n: int, strides: tuple[int, ...]) -> pa.Array:
    return _make_interleaving(n, strides)


def _make_interleaving(n: int, strides: tuple[int, ...]) -> pa.Array:
    lengths = np.array(strides, dtype=np.int64) * n
    bases = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    dtype = np.int32 if int(lengths.sum()) < 2**31 else np.int64
    rows = np.arange(n, dtype=dtype)[:, None] * np.array(strides, dtype=dtype)
    return pa.array((rows + bases.astype(dtype)).reshape(-1))


def _elements(col: Piece) -> tuple[pa.Array, int]:
    """A piece as a large_binary array without copying its bytes, and the stride between its rows.

    Rows laid out in order, with gaps between them (null rows, sliced values), become every
    other element: the gaps are elements of their own that are never taken.
    """
    if not isinstance(col, Var):
        return _offsets_array(col).cast(pa.large_binary()), 1
    n = len(col)
    if col.width is not None:
        offsets = np.arange(n + 1, dtype=np.int64) * col.width
        return _binary(col.data[: n * col.width], offsets), 1
    ends = col.starts + col.lens
    if n and (col.starts[0] < 0 or np.any(col.starts[1:] < ends[:-1])):
        packed = _pack([col])
        return _elements(Var(packed.data, packed.starts, packed.lens, None))
    first = int(col.starts[0]) if n else 0
    if _contiguous(col):
        offsets = np.empty(n + 1, dtype=np.int64)
        offsets[:-1] = col.starts - first
        offsets[-1] = int(ends[-1]) - first if n else 0
        return _binary(col.data[first:], offsets), 1
    offsets = np.empty(2 * n + 1, dtype=np.int64)
    offsets[0:-1:2] = col.starts - first
    offsets[1::2] = ends - first
    offsets[-1] = offsets[-2]
    return _binary(col.data[first:], offsets), 2


def _binary(data: U8, offsets: I64) -> pa.Array:
    used = data[: int(offsets[-1])] if len(offsets) else data[:0]
    return pa.Array.from_buffers(
        pa.large_binary(), len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(used))]
    )


def _matrix(cols: list[Var]) -> Var:
    n = len(cols[0])
    widths = [c.width or 0 for c in cols]
    matrix = np.empty((n, sum(widths)), dtype=np.uint8)
    pos = 0
    for c, w in zip(cols, widths, strict=True):
        matrix[:, pos : pos + w] = c.data.reshape(n, w)
        pos += w
    return fixed(matrix)


def _pack(cols: list[Var]) -> Var:
    """Concatenate by index arithmetic in numpy: for one column (to make it contiguous) or no rows."""
    n = len(cols[0])
    total = np.zeros(n, dtype=np.int64)
    for c in cols:
        total += c.lens
    starts = np.cumsum(total) - total
    out = np.empty(int(total.sum()), dtype=np.uint8)
    dst = starts.copy()
    for c in cols:
        _scatter(out, dst, c)
        dst += c.lens
    return Var(out, starts, total)


def group(col: Var, offsets: I64) -> Var:
    """Join consecutive rows: output row i is rows offsets[i]..offsets[i+1] of a contiguous col."""
    packed = col if _contiguous(col) else _pack([col])
    base = int(packed.starts[0]) if len(packed) else 0
    bounds = np.concatenate([[0], np.cumsum(packed.lens)]).astype(np.int64) + base
    starts = bounds[offsets[:-1]]
    return Var(packed.data, starts, bounds[offsets[1:]] - starts)


def to_arrow_binary(col: Var, valid: Mask | None = None, dtype: object = None) -> pa.Array:
    """Build an Arrow large_binary (or dtype, e.g. large_string) array from a Var."""
    packed = _pack([col]) if len(col) and not _contiguous(col) else col
    offsets = np.zeros(len(col) + 1, dtype=np.int64)
    np.cumsum(packed.lens, out=offsets[1:])
    base = int(packed.starts[0]) if len(packed) else 0
    data = packed.data[base : base + int(offsets[-1])]
    bitmap = None
    if valid is not None:
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little").tobytes())
    return pa.Array.from_buffers(
        dtype or pa.large_binary(),
        len(col),
        [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)],
    )
