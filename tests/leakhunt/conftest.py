"""The leak-hunt mesh, built and served once per session; probes cached per (port, principal)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.leakhunt.mesh import LeakMesh, build_mesh, serve_mesh
from tests.leakhunt.probes import PROBES, Seen


class Probed:
    """What each principal got out of each port, probed on first use."""

    def __init__(self, mesh: LeakMesh) -> None:
        self.mesh = mesh
        self._seen: dict[tuple[str, str], Seen] = {}

    def __call__(self, port: str, who: str) -> Seen:
        if (port, who) not in self._seen:
            self._seen[(port, who)] = PROBES[port](self.mesh, who)
        return self._seen[(port, who)]


@pytest.fixture(scope="session")
def leak_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LeakMesh]:
    """The served leak-hunt mesh (see tests/leakhunt/mesh.py): products with canaries, tokens per principal."""
    with serve_mesh(build_mesh(tmp_path_factory.mktemp("leakhunt"))) as served:
        yield served


@pytest.fixture(scope="session")
def probed(leak_mesh: LeakMesh) -> Probed:
    return Probed(leak_mesh)
