"""A column's profile on the preview page: exact for any whole number, sane for any float."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

from hexmesh.serving.preview import _profile


def _histogram(values: list[object], kind: pa.DataType) -> tuple[tuple[str, int], ...]:
    return _profile("c", pa.chunked_array([pa.array(values, kind)])).histogram


def test_ids_past_two_to_the_53_are_counted_in_exact_ranges() -> None:
    first = 20261207000000001  # a demo play_id: a float cannot hold it
    bars = _histogram([first, first + 1, first + 9, None], pa.int64())
    assert bars[0] == ("20,261,207,000,000,001–20,261,207,000,000,002", 2)
    assert bars[-1] == ("20,261,207,000,000,009–20,261,207,000,000,010", 1)
    assert sum(n for _, n in bars) == 3


def test_a_small_integer_range_gets_one_bar_per_value_and_ranges_end_at_the_maximum() -> None:
    assert _histogram([1, 3, 3], pa.int8()) == (("1", 1), ("2", 0), ("3", 2))
    wide = _histogram(list(range(100)), pa.int32())
    assert wide[0] == ("0–12", 13) and wide[-1] == ("91–99", 9) and sum(n for _, n in wide) == 100
    extremes = _histogram([0, 2**64 - 1], pa.uint64())
    assert extremes[-1] == ("16,140,901,064,495,857,664–18,446,744,073,709,551,615", 1)


@pytest.mark.parametrize(
    ("values", "kind", "expected"),
    [
        ([0.5, 0.5], pa.float64(), (("0.50", 2),)),
        ([Decimal("1.20")] * 3, pa.decimal128(5, 2), (("1.20", 3),)),
    ],
)
def test_a_column_of_one_value_is_one_bar(values: list[object], kind: pa.DataType, expected: object) -> None:
    assert _histogram(values, kind) == expected


def test_nan_and_infinity_have_no_bar_and_break_nothing() -> None:
    bars = _histogram([1.0, float("nan"), float("inf"), 3.0], pa.float64())
    assert bars[0] == ("1–1.25", 1) and bars[-1] == ("2.75–3", 1) and sum(n for _, n in bars) == 2
    assert _histogram([float("nan")], pa.float64()) == ()
