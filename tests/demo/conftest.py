"""One tiny demo workspace shared by the tests that only read it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hexmesh.demo import DemoResult, run_demo
from hexmesh.lifecycle import Workspace
from tests.demo.postgres import demo_database

SCALE = 0.01


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Workspace, DemoResult, list[Any]]]:
    """A workspace after ``run_demo`` at a tiny scale, its result, and what it printed."""
    workspace = Workspace.open(tmp_path_factory.mktemp("demo") / "home")
    said: list[Any] = []
    with demo_database() as postgres:
        yield workspace, run_demo(workspace, scale=SCALE, days=2, say=said.append, postgres=postgres), said


@pytest.fixture
def postgres() -> Iterator[str]:
    """The URL of a registration database for one test's demo workspace (created by the demo, dropped after)."""
    with demo_database() as url:
        yield url
