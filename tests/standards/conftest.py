from __future__ import annotations

from pathlib import Path

import pytest

from tests.standards.material import need_standards


@pytest.fixture
def standards() -> Path:
    return need_standards()
