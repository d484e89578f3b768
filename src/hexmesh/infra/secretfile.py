"""A secret kept in a file of the workspace: created once, readable only by its owner."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["create_once"]


def create_once(path: Path, make: Callable[[], str]) -> None:
    """Write ``make()`` to ``path`` (mode 0600) unless the file exists.

    O_EXCL: two processes starting at once never each write a different secret; the loser keeps
    the winner's, which both then read.
    """
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(make())
