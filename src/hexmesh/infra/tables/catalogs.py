"""Iceberg catalogs built by pyiceberg's own ``load_catalog`` from the settings.

``catalog_type`` (or the URL: http and https mean ``rest``) chooses the backend: ``sql`` (SQLite,
PostgreSQL) or ``rest`` (any Iceberg REST catalog, with SigV4 by properties). The FileIO gets the
``s3_*`` settings; ``catalog_properties`` are passed through last, so they win.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from hexmesh.errors import WorkspaceError
from hexmesh.infra.storage import s3_properties

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

    from hexmesh.infra.settings import Settings

__all__ = ["CATALOG_TYPES", "catalog_failure", "catalog_properties", "catalog_type", "open_catalog"]

#: The catalog backends hexmesh is tested on (pyiceberg has more; they are not offered untested).
CATALOG_TYPES = ("sql", "rest")


def catalog_type(settings: Settings) -> str:
    """``sql`` or ``rest``: the ``catalog_type`` setting, else what ``catalog_url`` says."""
    chosen = settings.catalog_type.strip().lower()
    if not chosen:
        return "rest" if settings.catalog_url.startswith(("http://", "https://")) else "sql"
    if chosen not in CATALOG_TYPES:
        close = difflib.get_close_matches(chosen, CATALOG_TYPES, n=1, cutoff=0.5)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise WorkspaceError(
            f"catalog_type {settings.catalog_type!r} is not a catalog hexmesh opens{hint}; use sql or rest "
            "(setting catalog_type, HEXMESH_CATALOG_TYPE)"
        )
    return chosen


def catalog_properties(settings: Settings) -> dict[str, str]:
    """Every property ``load_catalog`` is given: type, uri, warehouse, S3 FileIO, then the pass-through."""
    kind = catalog_type(settings)
    url = settings.catalog_url
    if kind == "sql" and url.startswith("postgresql://"):
        # psycopg 3 is the driver we ship; plain postgresql:// would ask SQLAlchemy for psycopg2.
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if kind == "rest" and not url.startswith(("http://", "https://")):
        raise WorkspaceError(
            f"catalog_url {url!r} is not an http(s) URL, which a REST catalog needs "
            "(setting catalog_url, HEXMESH_CATALOG_URL)"
        )
    properties = {"type": kind, "uri": url, "warehouse": settings.warehouse}
    properties.update(s3_properties(settings))
    if kind == "rest" and settings.s3_access_key_id:
        # REST catalogs that sign with SigV4 (rest.sigv4-enabled) read the client.* credentials.
        properties.update(
            {
                "client.access-key-id": settings.s3_access_key_id,
                "client.secret-access-key": settings.s3_secret_access_key,
                "client.region": settings.s3_region,
            }
        )
        if settings.s3_session_token:
            properties["client.session-token"] = settings.s3_session_token
    properties.update(settings.catalog_properties)
    return properties


def open_catalog(settings: Settings) -> Catalog:
    """The workspace's catalog, as ``pyiceberg.catalog.load_catalog`` builds it from the properties."""
    from pyiceberg.catalog import load_catalog

    properties = catalog_properties(settings)
    if properties.get("type") == "rest" and properties.get("rest.sigv4-enabled", "").lower() == "true":
        try:
            import boto3  # noqa: F401  # pyiceberg signs REST requests with botocore
        except ImportError:
            raise WorkspaceError(
                "rest.sigv4-enabled needs boto3, which is not installed; install hexmesh[s3] "
                "(pip install 'hexmesh[s3]')"
            ) from None
    try:
        return load_catalog(settings.catalog_name, **properties)
    except Exception as exc:  # pyiceberg raises many kinds: connection, HTTP, SQLAlchemy
        raise catalog_failure(settings, properties, exc) from exc


def catalog_failure(settings: Settings, properties: dict[str, str], exc: Exception) -> WorkspaceError:
    """What went wrong opening or first using the catalog, and which setting to fix (never a secret)."""
    from hexmesh.errors import redacted_url

    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    where = redacted_url(properties.get("uri", ""))
    if any(code in text for code in ("401", "403", "Unauthorized", "Forbidden", "SignatureDoesNotMatch", "denied")):
        return WorkspaceError(
            f"the {properties.get('type')} catalog at {where} refused this node's credentials ({text}); fix "
            "s3_access_key_id and s3_secret_access_key, or the client.* / token entries of catalog_properties"
        )
    return WorkspaceError(
        f"cannot open the {properties.get('type')} catalog at {where} ({type(exc).__name__}: {text}); fix the "
        "setting catalog_url (HEXMESH_CATALOG_URL), or start the catalog's server"
    )
