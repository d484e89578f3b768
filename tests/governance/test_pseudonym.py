"""Pseudonyms are remembered per scope in the one bounded cache: never more than its limit, never wrong."""

from __future__ import annotations

import pyarrow as pa
import pytest

from hexmesh.cache import BoundedCache
from hexmesh.governance import pseudonym
from hexmesh.governance.pseudonym import pseudonymize

KEY_A, KEY_B = b"a" * 32, b"b" * 32


def test_remembered_pseudonyms_stay_within_the_limit_and_equal_fresh_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    memo: BoundedCache[bytes, dict[str, str]] = BoundedCache(150, weigh=len)
    monkeypatch.setattr(pseudonym, "_MEMO", memo)
    values = pa.array([f"user-{i}" for i in range(100)])
    first = pseudonymize(values, KEY_A)
    assert memo.weight == 100
    other = pseudonymize(values, KEY_B)  # a second scope: the first leaves, the limit holds
    assert memo.weight == 100 and len(memo) == 1
    again = pseudonymize(values, KEY_A)  # computed again, the same pseudonyms
    assert again.equals(first) and not other.equals(first)
    assert pseudonymize(pa.array([f"u{i}" for i in range(200)]), KEY_A).null_count == 0  # too big to keep: still right
    assert memo.weight <= 150
