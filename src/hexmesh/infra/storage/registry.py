"""The object-storage backends by URI scheme, imported only when used."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from hexmesh.errors import StorageError

if TYPE_CHECKING:
    from hexmesh.infra.settings import Settings
    from hexmesh.infra.storage.store import ObjectStore

__all__ = ["BACKENDS", "open_store"]


def _local(settings: Settings) -> ObjectStore:
    from hexmesh.infra.storage.local import LocalStore

    parsed = urlparse(settings.storage)
    return LocalStore(Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(settings.storage))


def _s3(settings: Settings) -> ObjectStore:
    from hexmesh.infra.storage.s3 import S3Store

    return S3Store(settings)


#: URI scheme of the ``storage`` setting → the backend that opens it.
BACKENDS: dict[str, Callable[[Settings], ObjectStore]] = {"file": _local, "": _local, "s3": _s3, "s3a": _s3}


def open_store(settings: Settings, *, check: bool = True) -> ObjectStore:
    """The object store the ``storage`` setting names; ``check`` reaches it once (errors name the setting)."""
    scheme = urlparse(settings.storage).scheme
    backend = BACKENDS.get(scheme)
    if backend is None:
        known = ", ".join(f"{s}://" for s in sorted(BACKENDS) if s)
        raise StorageError(
            f"storage {settings.storage!r} uses the scheme {scheme!r}, which no backend serves; use one of {known} "
            "(setting storage, HEXMESH_STORAGE)"
        )
    store = backend(settings)
    if check:
        store.check()
    return store
