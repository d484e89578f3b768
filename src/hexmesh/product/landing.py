"""Folders where files land, read incrementally: each file's content is read exactly once.

The position (stored in the run record when the run succeeds) is a ledger of the files read:
name → [size, mtime_ns, sha256]. A file is read when its content is new:

- the same name landing again with the same content, or the same content under another name,
  is recognised by its hash and not read again (``duplicates`` in the position);
- the same name re-written with different content is a new delivery and is read;
- positions never move backwards: a file already read that grew (its first bytes are what was
  read: rows appended to it) or that was replaced by an older file (an earlier modification time)
  is an :class:`InputError` naming it, and nothing is read, since reading it would publish its
  rows again (land new rows in a new file; ``--full-refresh`` re-reads the folder as it is);
- a file that cannot be parsed (often one still being written) is left out of the ledger and
  retried by the next run (``unreadable`` in the position); the other files are read;
- files under hidden names (``.x``, ``_x``) or modified within the source's ``settle`` time
  are not looked at (write files under a temporary name and rename them when complete).

On a node whose object storage is not its own home (a cluster's S3, say), files also land in object
storage, under ``landing/<domain>/<product>/<port>/`` (:class:`ObjectLanding`): HTTP ingest writes
there, so whichever node runs the product reads them. Objects are written once under a new name
and never change, so the ledger knows one by its key (with its size and hash); the folder is still
read where it exists on the node that runs.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from hexmesh.errors import InputError
from hexmesh.infra.settings import Settings
from hexmesh.infra.storage import ObjectStore
from hexmesh.product.sources import SUFFIXES, list_files, read_file, resolve_path
from hexmesh.spec import Confinement, SourceSpec

__all__ = ["LandedBatch", "ObjectLanding", "lands_in_objects", "read_landed"]


def lands_in_objects(settings: Settings) -> bool:
    """Whether files land in object storage: when it is not the node's home (then it is shared, or meant to be)."""
    return settings.storage.rstrip("/") != settings.home.as_uri().rstrip("/")


@dataclass(frozen=True)
class ObjectLanding:
    """Where files for one input port land in object storage: ``landing/<domain>/<product>/<port>/``."""

    storage: ObjectStore
    prefix: str

    @classmethod
    def of(cls, storage: ObjectStore, product: str, port: str) -> ObjectLanding:
        return cls(storage, f"landing/{product}/{port}/")

    def put(self, name: str, data: bytes) -> str:
        """Land ``data`` as the file ``name`` (written whole, at once); its key."""
        key = self.prefix + name
        self.storage.put(key, data)
        return key

    def keys(self, spec: SourceSpec) -> list[str]:
        """The keys of the landed files a source of ``spec``'s format reads (hidden names left out), oldest first."""
        suffixes = SUFFIXES[spec.format]
        found = []
        for key in self.storage.keys(self.prefix):
            name = key.rsplit("/", 1)[-1]
            if name.lower().endswith(suffixes) and not name.startswith((".", "_")):
                found.append(key)
        return found

    def read(self, key: str, spec: SourceSpec) -> tuple[bytes, pa.Table]:
        """A landed file's bytes and rows (parsed from a temporary copy, as a file of the folder would be)."""
        data = self.storage.get(key)
        with tempfile.TemporaryDirectory(prefix="hexmesh-landed-") as folder:
            copy = Path(folder) / key.rsplit("/", 1)[-1]
            copy.write_bytes(data)
            return data, read_file(copy, spec)


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


def _prefix_digest(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        left = size
        while left > 0:
            chunk = handle.read(min(left, 1 << 20))
            if not chunk:
                break
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def _refuse_backwards(spec: SourceSpec, name: str, path: Path, entry: list[Any], stat: os.stat_result) -> None:
    """A file of the ledger that grew by appending, or was replaced by an older one, moves the position back."""
    size, mtime, digest = entry[0], entry[1], entry[2]
    if stat.st_size > size and _prefix_digest(path, size) == digest:
        raise InputError(
            f"source {spec.path!r}: the file {name!r} grew from {size} to {stat.st_size} bytes after it was read, "
            "and its first bytes are what was read: reading it again would publish its rows twice, so nothing "
            "was read. Land new rows in a new file (write it under a hidden name, then rename it), or run "
            "with --full-refresh to read the folder again as it is now"
        )
    if stat.st_mtime_ns < mtime:
        raise InputError(
            f"source {spec.path!r}: the file {name!r} was replaced by an older file (modified "
            f"{stat.st_mtime_ns} ns, before the {mtime} ns of the copy already read): a position never moves "
            "back, so nothing was read. Put the newer file back, land the content under a new name, or run "
            "with --full-refresh to read the folder again as it is now"
        )


def read_landed(
    spec: SourceSpec,
    origin: Path,
    previous: dict[str, Any] | None,
    confinement: Confinement | None = None,
    objects: ObjectLanding | None = None,
) -> LandedBatch:
    """Read the files of ``spec`` (and ``objects``) whose content the ledger in ``previous`` has not seen."""
    previous = previous or {}
    legacy = set(previous.get("files", [])) - set(previous.get("seen", {}))
    seen: dict[str, list[Any]] = {k: list(v) for k, v in previous.get("seen", {}).items()}
    digests = {entry[2] for entry in seen.values()}
    root = resolve_path(spec.path, origin, confinement)
    base = root if root.is_dir() else root.parent
    tables: list[pa.Table] = []
    read: list[str] = []
    duplicates: list[str] = []
    unreadable: list[dict[str, str]] = []
    # With files landing in object storage, the folder may be on another node only (or nowhere).
    # A folder missing with nothing landed in object storage either is said as a missing folder.
    skip = objects is not None and not root.exists() and bool(objects.keys(spec))
    folder = [] if skip else list_files(root, spec, confinement)
    for path in folder:
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
        if entry is not None:
            _refuse_backwards(spec, name, path, entry, stat)
        try:
            tables.append(read_file(path, spec))
        except InputError as exc:
            unreadable.append({"file": name, "error": str(exc)})
            continue
        seen[name] = [stat.st_size, stat.st_mtime_ns, digest]
        digests.add(digest)
        read.append(name)
    for key in objects.keys(spec) if objects is not None else []:
        if key in seen or key in legacy:
            continue  # an object never changes: its key is enough
        assert objects is not None
        try:
            data, rows = objects.read(key, spec)
        except InputError as exc:
            unreadable.append({"file": key, "error": str(exc)})
            continue
        digest = hashlib.sha256(data).hexdigest()
        seen[key] = [len(data), 0, digest]
        if digest in digests:
            duplicates.append(key)
            continue
        tables.append(rows)
        digests.add(digest)
        read.append(key)
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
