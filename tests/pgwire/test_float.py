"""float4/float8 text is PostgreSQL's: shortest digits in printf's layout."""

from __future__ import annotations

import math
import random

import numpy as np
import psycopg
import pyarrow as pa
import pytest

from hexmesh.pgwire._text import encode_text

FLOAT8 = [
    (1e-05, "1e-05"),
    (-2.5e-07, "-2.5e-07"),
    (1.5e-300, "1.5e-300"),
    (5e-324, "5e-324"),
    (0.0001, "0.0001"),
    (0.00012345, "0.00012345"),
    (0.1, "0.1"),
    (123456.0, "123456"),
    (1e10, "10000000000"),
    (123456789012.34567, "123456789012.34567"),
    (999999999999999.9, "999999999999999.9"),
    (1e15, "1e+15"),
    (-1.2345678901234568e20, "-1.2345678901234568e+20"),
    (1.7976931348623157e308, "1.7976931348623157e+308"),
    (0.0, "0"),
    (-0.0, "-0"),
    (math.inf, "Infinity"),
    (-math.inf, "-Infinity"),
    (math.nan, "NaN"),
    (None, None),
]
FLOAT4 = [
    (1.5, "1.5"),
    (0.3, "0.3"),
    (123456.0, "123456"),
    (1234567.9, "1.2345679e+06"),
    (16777216.0, "1.6777216e+07"),
    (1e-7, "1e-07"),
    (0.00012, "0.00012"),
    (3.4028235e38, "3.4028235e+38"),
    (None, None),
]


@pytest.mark.parametrize(("dtype", "cases"), [(pa.float64(), FLOAT8), (pa.float32(), FLOAT4)], ids=["float8", "float4"])
def test_floats_print_as_postgresql_prints_them(
    dtype: pa.DataType, cases: list[tuple[float | None, str | None]]
) -> None:
    values = pa.array([value for value, _ in cases], pa.float64()).cast(dtype, safe=False)
    assert encode_text(values).to_pylist() == [text for _, text in cases]
    # Sliced, and mixed with values that need no change, every row keeps its own text.
    assert encode_text(values.slice(1, 3)).to_pylist() == [text for _, text in cases[1:4]]


def _sweep() -> list[float]:
    rng = random.Random(16)
    values = [float(f"{m}e{e}") * s for e in range(-320, 308) for m in (1, 1.5, 9.999, 3.0000001) for s in (1, -1)]
    return values + [rng.uniform(-1e6, 1e6) for _ in range(500)] + [rng.lognormvariate(0, 25) for _ in range(2000)]


def _tie(value: float, limit: float) -> bool:
    # Beyond 2**53 (float8) or 2**24 (float4) a value can sit exactly halfway between two shorter
    # decimals; PostgreSQL's Ryu then prints more digits than Arrow. Both read back as the same value.
    return abs(value) >= limit and value == int(value)


@pytest.mark.parametrize(
    ("pgtype", "dtype", "limit"), [("float8", pa.float64(), 2.0**53), ("float4", pa.float32(), 2.0**24)]
)
def test_a_sweep_of_magnitudes_matches_postgresql(pgtype: str, dtype: pa.DataType, limit: float) -> None:
    values = pa.array(_sweep(), pa.float64()).cast(dtype, safe=False)
    ours = encode_text(values).to_pylist()
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres") as con:
        theirs = [row[0] for row in con.execute(f"select unnest(%s::{pgtype}[])::text", [values.to_pylist()])]
    different = [(v, o, t) for v, o, t in zip(values.to_pylist(), ours, theirs, strict=True) if o != t]
    assert len(ours) == len(theirs) > 5000
    same = np.float32 if pgtype == "float4" else np.float64
    assert all(_tie(v, limit) and same(o) == same(t) for v, o, t in different), different[:5]
