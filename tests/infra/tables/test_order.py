"""Rows sorted by their clustering keys before a write: by value, nulls last, equal keys in their order."""

from __future__ import annotations

import pyarrow as pa
import pytest

from hexmesh.infra.tables.order import sort_rows


def test_strings_sort_by_value_with_nulls_last_and_equal_keys_keep_their_order() -> None:
    table = pa.table({"country": ["US", "DE", None, "AR", "DE", "US"], "n": [1, 2, 3, 4, 5, 6]})
    ordered = sort_rows(table, ["country"])
    assert ordered.column("country").to_pylist() == ["AR", "DE", "DE", "US", "US", None]
    assert ordered.column("n").to_pylist() == [4, 2, 5, 1, 6, 3]  # the rows move whole


def test_several_keys_of_several_types() -> None:
    table = pa.table({"region": ["EU", "US", "EU", "US"], "tier": [2, 1, 1, None], "id": ["a", "b", "c", "d"]})
    ordered = sort_rows(table, ["region", "tier"])
    assert ordered.column("id").to_pylist() == ["c", "a", "b", "d"]


def test_no_keys_or_one_row_leaves_the_table_as_it_is() -> None:
    table = pa.table({"country": ["US", "DE"]})
    assert sort_rows(table, []) is table
    single = table.slice(0, 1)
    assert sort_rows(single, ["country"]) is single


def test_an_unknown_key_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="cannot sort rows by region: not a column of"):
        sort_rows(pa.table({"country": ["US", "DE"]}), ["region"])
