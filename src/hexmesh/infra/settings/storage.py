"""Settings of object storage, and the S3 credentials it shares with the tables' FileIO."""

from __future__ import annotations

from dataclasses import dataclass

from hexmesh.infra.settings._field import Base, key

__all__ = ["ABOUT", "StorageSettings"]

#: What the section of the configuration reference says about these settings.
ABOUT = (
    "Object storage keeps everything else a product has besides its tables: deployed bundles (by content "
    "digest), quarantined candidates. A local folder by default; any S3-compatible store by URI. The "
    "`s3_*` settings are used by the object storage and by the tables' FileIO alike; each falls back to "
    "the standard `AWS_*` variable named in its row."
)


@dataclass(frozen=True)
class StorageSettings(Base):
    """Object storage, and how to reach S3."""

    storage: str = key(
        "",
        "HEXMESH_STORAGE",
        "Object storage for what a product keeps besides its tables (quarantined candidates, bundles): "
        "`file:///folder` or `s3://bucket/prefix` (the bucket must exist).",
        group="storage",
        shown="file://<home>",
    )
    s3_endpoint: str = key(
        "",
        "HEXMESH_S3_ENDPOINT",
        "The S3 endpoint, e.g. `http://127.0.0.1:8333` (empty: AWS S3).",
        group="storage",
        fallback=("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
    )
    s3_region: str = key(
        "us-east-1",
        "HEXMESH_S3_REGION",
        "The S3 region (signing needs one, also for S3-compatible servers).",
        group="storage",
        fallback=("AWS_REGION", "AWS_DEFAULT_REGION"),
    )
    s3_access_key_id: str = key(
        "",
        "HEXMESH_S3_ACCESS_KEY_ID",
        "The S3 access key id.",
        group="storage",
        fallback=("AWS_ACCESS_KEY_ID",),
    )
    s3_secret_access_key: str = key(
        "",
        "HEXMESH_S3_SECRET_ACCESS_KEY",
        "The S3 secret access key.",
        group="storage",
        secret=True,
        fallback=("AWS_SECRET_ACCESS_KEY",),
    )
    s3_session_token: str = key(
        "",
        "HEXMESH_S3_SESSION_TOKEN",
        "An S3 session token (temporary credentials).",
        group="storage",
        secret=True,
        fallback=("AWS_SESSION_TOKEN",),
    )
    s3_path_style: bool = key(
        True,
        "HEXMESH_S3_PATH_STYLE",
        "Address buckets as `endpoint/bucket` (true; what S3-compatible servers expect) or as "
        "`bucket.endpoint` (false).",
        group="storage",
    )
