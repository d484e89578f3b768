"""Object storage: everything a product keeps besides its tables (bundles, quarantine, landed files, caches).

One interface (:class:`ObjectStore`), one module per backend (``local``: a folder, the default;
``s3``: any S3-compatible store) and a lazy registry (:func:`open_store`) that picks the backend
from the ``storage`` setting's URI scheme. The tables' FileIO reads the same ``s3_*`` settings
(:func:`s3_properties`), so one set of credentials serves both.
"""

from __future__ import annotations

from hexmesh.errors import StorageError
from hexmesh.infra.storage.registry import BACKENDS, open_store
from hexmesh.infra.storage.s3config import s3_properties, s3_wanted
from hexmesh.infra.storage.store import ObjectStore, check_key

__all__ = ["BACKENDS", "ObjectStore", "StorageError", "check_key", "open_store", "s3_properties", "s3_wanted"]
