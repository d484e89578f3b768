"""Where the shared test material of the open standards is (``../shared/standards`` of a checkout)."""

from __future__ import annotations

from pathlib import Path

import pytest

__all__ = ["STANDARDS", "need_standards"]


def _find() -> Path | None:
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "shared" / "standards"
        if candidate.is_dir():
            return candidate
    return None


#: ``shared/standards`` beside the clone (or beside the folder of worktrees).
STANDARDS = _find()


def need_standards() -> Path:
    """The folder, or a skip (a failure in CI, where it is always there) when this checkout has none."""
    if STANDARDS is None:
        pytest.skip("no shared/standards folder above this checkout")
    return STANDARDS
