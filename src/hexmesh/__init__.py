"""hexmesh: data products as real, deployable units, and the planes of a data mesh."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hexmesh.client import Node

__version__ = "0.1.0"
__all__ = ["__version__", "connect"]


def connect(url: str, *, token: str | None = None, timeout: float = 30.0) -> Node:
    """A client for the hexmesh node at ``url`` (see :mod:`hexmesh.client`)."""
    # Imported here so that ``import hexmesh`` (and the CLI) does not load the HTTP client.
    from hexmesh.client import connect as _connect

    return _connect(url, token=token, timeout=timeout)
