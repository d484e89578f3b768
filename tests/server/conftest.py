from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.nodes import RunningNode, build_workspace, serve


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_workspace(tmp_path_factory.mktemp("mesh"))


@pytest.fixture(scope="session")
def node(built: tuple[Path, Path]) -> Iterator[RunningNode]:
    with serve(built[0]) as running:
        yield running
