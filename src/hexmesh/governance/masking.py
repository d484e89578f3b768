"""Redaction and generalization of Arrow columns, vectorized with pyarrow.compute."""

from __future__ import annotations

from typing import TypeAlias

import pyarrow as pa
import pyarrow.compute as pc

from hexmesh.governance.exceptions import PolicyError
from hexmesh.spec.policies import Generalize

__all__ = ["generalize", "redact"]

#: pyarrow ships no type information, so this alias documents intent only.
Column: TypeAlias = "pa.Array | pa.ChunkedArray"


def redact(column: Column) -> pa.Array:
    """All nulls of the same type: the schema stays, nothing about the values does."""
    return pa.nulls(len(column), type=column.type)


def generalize(column: Column, how: Generalize) -> Column:
    """Coarsen a column: numbers into bands, dates truncated, coordinates rounded, codes cut to a prefix."""
    kind = column.type
    if how.bands is not None:
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)):
            raise PolicyError(f"generalize bands needs a number column, not {kind}")
        if pa.types.is_integer(kind):
            # Integers repeat (ages, years): label each distinct value once, then spread the labels.
            encoded = pc.dictionary_encode(column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column)
            return pc.take(_bands(encoded.dictionary, how.bands), encoded.indices)
        return _bands(column, how.bands)
    if how.truncate is not None:
        if not (pa.types.is_date(kind) or pa.types.is_timestamp(kind)):
            raise PolicyError(f"generalize truncate needs a date or timestamp column, not {kind}")
        return pc.floor_temporal(column, unit=how.truncate)
    if how.round is not None:
        if not pa.types.is_floating(kind) and not pa.types.is_decimal(kind):
            raise PolicyError(f"generalize round needs a floating-point column (latitude, longitude), not {kind}")
        # Half away from zero, as SQL's round() does, so every port rounds alike.
        return pc.round(column, ndigits=how.round, round_mode="half_towards_infinity")
    assert how.prefix is not None
    if not pa.types.is_string(kind) and not pa.types.is_large_string(kind):
        raise PolicyError(f"generalize prefix needs a string column (a postcode), not {kind}")
    return pc.utf8_slice_codeunits(column, 0, how.prefix)


def _bands(column: Column, width: float) -> Column:
    """``20-29`` labels (``20.0-29.9`` for fractional widths): the band, never the value."""
    as_float = pc.cast(column, pa.float64())
    low = pc.multiply(pc.floor(pc.divide(as_float, width)), width)
    if float(width).is_integer():
        low_int = pc.cast(low, pa.int64())
        high = pc.subtract(low_int, pa.scalar(1 - int(width), pa.int64()))
        return pc.binary_join_element_wise(pc.cast(low_int, pa.string()), pc.cast(high, pa.string()), "-")
    high_f = pc.add(low, width)
    return pc.binary_join_element_wise(pc.cast(low, pa.string()), pc.cast(high_f, pa.string()), "-")
