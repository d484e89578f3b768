"""The object-storage interface every backend implements, and the rule for keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from hexmesh.infra.storage.failures import StorageError

__all__ = ["ObjectStore", "check_key"]


class ObjectStore(Protocol):
    """Immutable-ish blobs by key (``a/b/c``), under one root (a folder or a bucket and prefix).

    Writes are whole-object and atomic: a reader sees the old bytes or the new ones, never a
    part. Keys are relative, ``/``-separated, without ``.`` or ``..`` segments.
    """

    url: str
    """The root, as the ``storage`` setting gives it (``file:///…`` or ``s3://bucket/prefix``)."""

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing what was there."""
        ...

    def put_file(self, key: str, path: Path) -> None:
        """Store the file at ``path`` under ``key`` as :meth:`put` does, streamed (never whole in memory)."""
        ...

    def get(self, key: str) -> bytes:
        """The bytes under ``key``; :class:`StorageError` (not found) when there are none."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""
        ...

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every key under ``prefix`` (a folder-like prefix: ``a/`` or ``a/b``), sorted."""
        ...

    def locate(self, key: str) -> str:
        """The full URI of ``key`` (for messages and for readers that take a URI)."""
        ...

    def check(self) -> None:
        """Reach the store once: a wrong credential, endpoint or bucket raises :class:`StorageError`."""
        ...


def check_key(key: str) -> str:
    """``key`` if it is a valid object key, else a :class:`StorageError` saying what is wrong."""
    if not isinstance(key, str) or not key:
        raise StorageError(f"an object key must be non-empty text, not {key!r}")
    problem = ""
    if key.startswith("/"):
        problem = "starts with '/' (keys are relative to the store's root)"
    elif "\\" in key:
        problem = "contains '\\' (keys are separated by '/')"
    elif any(part in ("", ".", "..") for part in key.rstrip("/").split("/")):
        problem = "has an empty, '.' or '..' segment (keys cannot leave the store's root)"
    elif "\x00" in key:
        problem = "contains a NUL character"
    if problem:
        raise StorageError(f"object key {key!r} {problem}; use a relative key such as 'bundles/sales/shop/1.0.0'")
    return key
