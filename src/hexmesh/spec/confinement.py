"""Where a spec's paths may lead: inside the product folder, or a source root the node allows.

A product is untrusted input to the node that runs it. Its docs, code and file sources are read
by the node (and docs are shown to anonymous callers), so a path that leaves the product folder
could publish anything the node can read: ``/etc/passwd``, or the node's own master key. Paths
are resolved (``..`` collapsed, symlinks followed) before they are compared, so a symlink in the
product folder cannot lead out either. The node's home (keys, tokens, settings, state) is never
reachable from a folder that contains it: a product folder that happens to hold the home (the
default ``./.hexmesh`` of a workspace) still cannot name ``.hexmesh/keys/master.key``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Confinement", "inside"]


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _within(path: Path, base: Path) -> bool:
    return path == base or path.is_relative_to(base)


@dataclass(frozen=True)
class Confinement:
    """The folders a product's paths may reach: its own ``folder`` and the node's ``roots``.

    ``home`` is the node's home: a path inside it is allowed only through a base that is itself
    inside the home (the deployed bundle, ``<home>/landing``), never through one containing it.
    """

    folder: Path
    roots: Sequence[Path] = ()
    home: Path | None = None

    def escape(self, text: str, *, roots: bool = False) -> str | None:
        """Why ``text`` (a path written in the spec) leads outside; ``None`` when it stays inside.

        ``roots`` says whether the node's source roots count (file sources) or only the product
        folder does (docs and code, which travel in the bundle).
        """
        allowed = [self.folder, *(self.roots if roots else ())]
        where = "the product folder" + (" or the node's source roots" if roots and self.roots else "")
        written = Path(text)
        lexical = Path(os.path.normpath(self.folder / written))
        if not any(_within(lexical, Path(os.path.normpath(b))) or _within(lexical, _real(b)) for b in allowed):
            if written.is_absolute():
                return f"is an absolute path outside {where}"
            return f"climbs out of {where} with '..'"
        real = _real(self.folder / written)
        inside = [base for base in map(_real, allowed) if _within(real, base)]
        if not inside:
            return f"is (or goes through) a symlink that leads outside {where}"
        if self.home is not None:
            home = _real(self.home)
            if _within(real, home) and not any(_within(base, home) for base in inside):
                return "leads into the node's home (its keys, tokens and settings), which no product may read"
        return None


def inside(folder: Path, text: str | None) -> Path | None:
    """The file ``text`` names in ``folder`` (a deployed bundle), or ``None`` when it leads out.

    Every reader of a bundle's docs and code goes through here: a spec deployed before paths
    were checked must not serve ``/etc/hostname`` as its README.
    """
    if not text or Confinement(folder).escape(text):
        return None
    return folder / text
