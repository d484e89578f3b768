"""Folders where files land, read incrementally: each file's content is read exactly once.

The position (stored in the run record when the run succeeds) is a ledger of the files read:
name → [size, mtime_ns, sha256]. A file is read when its content is new:

- the same name landing again with the same content, or the same content under another name,
  is recognised by its hash and not read again (``duplicates`` in the position);
- the same name re-written with different content is a new delivery and is read;
- a file that cannot be parsed (often one still being written) is left out of the ledger and
  retried by the next run (``unreadable`` in the position); the other files are read;
- files under hidden names (``.x``, ``_x``) or modified within the source's ``settle`` time
  are not looked at (write files under a temporary name and rename them when complete).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from hexmesh.errors import InputError
from hexmesh.product.sources import list_files, read_file, resolve_path
from hexmesh.spec import SourceSpec

__all__ = ["LandedBatch", "read_landed"]


@dataclass
class LandedBatch:
    """New rows of a landing folder, and the ledger to store if the run succeeds."""

    table: pa.Table | None
    position: dict[str, Any]
    read: list[str] = field(default_factory=list)


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_landed(spec: SourceSpec, origin: Path, previous: dict[str, Any] | None) -> LandedBatch:
    """Read the files of ``spec`` whose content the ledger in ``previous`` has not seen."""
    previous = previous or {}
    legacy = set(previous.get("files", [])) - set(previous.get("seen", {}))
    seen: dict[str, list[Any]] = {k: list(v) for k, v in previous.get("seen", {}).items()}
    digests = {entry[2] for entry in seen.values()}
    root = resolve_path(spec.path, origin)
    base = root if root.is_dir() else root.parent
    tables: list[pa.Table] = []
    read: list[str] = []
    duplicates: list[str] = []
    unreadable: list[dict[str, str]] = []
    for path in list_files(root, spec):
        name = str(path.relative_to(base))
        stat = path.stat()
        entry = seen.get(name)
        if name in legacy or (entry is not None and entry[:2] == [stat.st_size, stat.st_mtime_ns]):
            continue
        digest = _digest(path)
        if digest in digests:
            seen[name] = [stat.st_size, stat.st_mtime_ns, digest]
            duplicates.append(name)
            continue
        try:
            tables.append(read_file(path, spec))
        except InputError as exc:
            unreadable.append({"file": name, "error": str(exc)})
            continue
        seen[name] = [stat.st_size, stat.st_mtime_ns, digest]
        digests.add(digest)
        read.append(name)
    table = None
    if tables:
        try:
            table = pa.concat_tables(tables, promote_options="permissive")
        except pa.ArrowInvalid as exc:
            raise InputError(f"files of source {spec.path!r} do not share one schema: {exc}") from None
    position: dict[str, Any] = {"files": sorted(legacy | set(seen)), "seen": seen}
    if duplicates:
        position["duplicates"] = duplicates
    if unreadable:
        position["unreadable"] = unreadable
    return LandedBatch(table, position, read)
