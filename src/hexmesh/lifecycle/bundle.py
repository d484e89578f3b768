"""The files a product version consists of, and their digest (what makes a version immutable)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["bundle_digest", "bundle_files", "escaping_links"]

_CODE_SUFFIXES = (".sql", ".py", ".md")
_SKIP_DIRS = {".hexmesh", ".git", ".venv", "__pycache__", "node_modules"}


def bundle_files(folder: Path, spec_file: Path) -> list[Path]:
    """The files a version consists of: the spec, its docs and code (never data)."""
    files = {spec_file}
    for path in folder.rglob("*"):
        rel = path.relative_to(folder)
        if any(part in _SKIP_DIRS or part.startswith(".") for part in rel.parts[:-1]):
            continue
        if path.is_file() and path.suffix in _CODE_SUFFIXES:
            files.add(path)
    return sorted(files)


def escaping_links(folder: Path, files: list[Path]) -> list[Path]:
    """Files of the bundle that are symlinks (or behind one) leading out of the product folder.

    Deploy copies what a link points to, so a ``README.md`` linked to ``/etc/passwd`` would be
    published as the product's documentation.
    """
    real = Path(os.path.realpath(folder))
    return [p for p in files if not Path(os.path.realpath(p)).is_relative_to(real)]


def bundle_digest(folder: Path, files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
