from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.nodes import RunningNode, build_workspace, serve
from tests.stacks import Stack


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, stack: Stack) -> tuple[Path, Path]:
    """The client's node on each stack: embedded, and PostgreSQL + SeaweedFS S3 + NATS."""
    return build_workspace(tmp_path_factory.mktemp("client"), big=False, stack=stack)


@pytest.fixture(scope="session")
def node(built: tuple[Path, Path]) -> Iterator[RunningNode]:
    with serve(built[0]) as running:
        yield running
