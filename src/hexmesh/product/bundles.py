"""Deployed bundles by content digest, so that every node of a cluster can run every version.

A deploy puts the bundle's files in object storage under ``bundle-store/sha256/<digest>/`` and the
state store records ``sha256:<digest>``, never a path of the node that deployed. Each node keeps a
local copy under ``<home>/bundles/<domain>/<name>/<version>``, fetched from object storage the first
time it reads the version, and checked against the digest. Versions recorded before (an absolute
path) keep that path.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from hexmesh.errors import StorageError
from hexmesh.infra.settings import Settings
from hexmesh.infra.state import VersionRecord
from hexmesh.infra.storage import ObjectStore

__all__ = ["DIGEST_PREFIX", "BundleCache", "bundle_key", "store_bundle"]

log = logging.getLogger(__name__)
DIGEST_PREFIX = "sha256:"
_MARKER = ".hexmesh-digest"


def bundle_key(digest: str) -> str:
    return f"bundle-store/sha256/{digest}/"


def store_bundle(storage: ObjectStore, folder: Path, files: list[Path], digest: str) -> str:
    """Put ``files`` (of ``folder``) in object storage by ``digest``; return what the state records."""
    prefix = bundle_key(digest)
    for path in files:
        storage.put(prefix + path.relative_to(folder).as_posix(), path.read_bytes())
    return DIGEST_PREFIX + digest


class BundleCache:
    """Where a version's bundle is on this node, fetched from object storage when it is not here yet."""

    def __init__(self, settings: Settings, storage: Callable[[], ObjectStore]) -> None:
        self.settings = settings
        self._storage = storage

    @property
    def storage(self) -> ObjectStore:
        return self._storage()

    def local(self, record: VersionRecord) -> Path:
        domain, name = record.product.split("/", 1)
        return self.settings.bundles / domain / name / record.version

    def path(self, record: VersionRecord) -> str:
        """The local folder of ``record``'s bundle (fetched if needed); a legacy path as it is."""
        if not record.bundle.startswith(DIGEST_PREFIX):
            return record.bundle
        digest = record.bundle.removeprefix(DIGEST_PREFIX)
        here = self.local(record)
        marker = here / _MARKER
        if marker.is_file() and marker.read_text(encoding="ascii") == digest:
            return str(here)
        if here.is_dir() and not marker.exists():
            marker.write_text(digest, encoding="ascii")  # deployed on this node (the deploy copied it here)
            return str(here)
        try:
            self._fetch(digest, here)
        except (StorageError, OSError) as exc:
            # Reported when the version is used (runs say so); listing versions must go on.
            log.warning("the bundle of %s %s could not be fetched: %s", record.product, record.version, exc)
        return str(here)

    def _fetch(self, digest: str, here: Path) -> None:
        prefix = bundle_key(digest)
        keys = list(self.storage.keys(prefix))
        if not keys:
            raise StorageError(f"no object under {prefix!r} in the object storage")
        here.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(dir=here.parent, prefix=f".{here.name}."))
        try:
            for key in keys:
                target = partial / key.removeprefix(prefix)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(self.storage.get(key))
            if _digest(partial) != digest:
                raise StorageError(f"the objects under {prefix!r} do not add up to their digest: they were changed")
            (partial / _MARKER).write_text(digest, encoding="ascii")
            if here.exists():
                shutil.rmtree(here)
            partial.replace(here)
        finally:
            shutil.rmtree(partial, ignore_errors=True)


def _digest(folder: Path) -> str:
    """The bundle digest of a folder's files (as lifecycle/bundle.py computes it at deploy)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
