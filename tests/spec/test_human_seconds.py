"""Durations as people read them, in messages and charts (never "86.4ks" or "-15507s")."""

from __future__ import annotations

import pytest

from hexmesh.spec.duration import human_seconds


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.4, "0.4s"), (35, "35s"), (61, "1m 1s"), (3600, "1h"), (86400, "1d"), (15507, "4h 18m"),
     (-15507, "-4h 18m"), (90061, "1d 1h"), (86460, "1d")],
)  # fmt: skip
def test_two_largest_units(seconds: float, text: str) -> None:
    assert human_seconds(seconds) == text
