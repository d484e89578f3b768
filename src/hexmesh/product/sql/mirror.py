"""A bounded local copy of remote (S3) table data files, so DuckDB scans them with its own reader.

This DuckDB cannot reach S3 itself (no httpfs offline; ADR 0030), and scanning an Arrow dataset
over S3 fetches every file again on every statement. Iceberg data files never change once written
(a new snapshot writes new files), so a copy made once through the table's FileIO stays true:
the SQL port scans the copies natively (ADR 0014) from ``<home>/cache/tables``, within
``tables_cache_mb``, least recently used first out.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Collection
from pathlib import Path

import pyarrow.fs as pafs

from hexmesh.cache import evict_files

__all__ = ["Mirror"]

_CHUNK = 8 * 1024 * 1024


class Mirror:
    """Local copies of remote data files under ``folder``, at most ``limit`` bytes (beyond recent use)."""

    def __init__(self, folder: Path, limit: int) -> None:
        self.folder = folder
        self.limit = limit
        self._lock = threading.Lock()
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def root(self) -> str:
        """The folder with a trailing slash (what DuckDB's ``allowed_directories`` is given)."""
        return os.path.realpath(self.folder).rstrip("/") + "/"

    def path(self, uri: str) -> Path:
        return self.folder / (hashlib.sha256(uri.encode()).hexdigest()[:40] + ".parquet")

    def fetch(self, filesystem: pafs.FileSystem, uris: list[str], paths: list[str]) -> list[str] | None:
        """Local copies of the files (copied once, through ``filesystem``); None when they do not fit."""
        sizes = [filesystem.get_file_info(p).size for p in paths]
        if sum(int(s or 0) for s in sizes) > self.limit:
            return None
        found = []
        for uri, source in zip(uris, paths, strict=True):
            target = self.path(uri)
            try:
                os.utime(target)  # a hit: most recently used now
            except FileNotFoundError:
                self._copy(filesystem, source, target)
            found.append(str(target))
        self.evict(keep=set(found))
        return found

    def present(self, paths: list[str]) -> bool:
        """Whether every copy is still there (an opened scan is reused only then), marking them used."""
        try:
            for path in paths:
                os.utime(path)
        except FileNotFoundError:
            return False
        return True

    def _copy(self, filesystem: pafs.FileSystem, source: str, target: Path) -> None:
        partial = target.with_suffix(f".{os.getpid()}-{threading.get_ident()}.part")
        try:
            with filesystem.open_input_stream(source) as stream, partial.open("wb") as out:
                while chunk := stream.read(_CHUNK):
                    out.write(chunk)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)

    def evict(self, keep: Collection[str] = ()) -> list[Path]:
        """Delete least recently used copies until they take at most ``limit`` bytes."""
        with self._lock:
            return evict_files(self.folder, self.limit, keep={Path(k) for k in keep})
