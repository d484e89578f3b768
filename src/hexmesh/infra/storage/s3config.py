"""The ``s3_*`` settings as pyiceberg FileIO properties and as a pyarrow filesystem (one source for both)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow.fs as pafs

    from hexmesh.infra.settings import Settings

__all__ = ["s3_filesystem", "s3_properties", "s3_wanted", "split_s3"]

#: Seconds before an unreachable endpoint is reported (pyarrow's default retries for minutes).
CONNECT_TIMEOUT = 5.0
REQUEST_TIMEOUT = 60.0


def s3_wanted(settings: Settings) -> bool:
    """Whether anything is configured for S3 (a location, an endpoint or credentials)."""
    return (
        settings.warehouse.startswith("s3://")
        or settings.storage.startswith("s3://")
        or bool(settings.s3_endpoint or settings.s3_access_key_id)
    )


def s3_properties(settings: Settings) -> dict[str, str]:
    """pyiceberg FileIO properties for the S3 settings (empty ones left out)."""
    if not s3_wanted(settings):
        return {}
    found = {
        "s3.endpoint": settings.s3_endpoint,
        "s3.region": settings.s3_region,
        "s3.access-key-id": settings.s3_access_key_id,
        "s3.secret-access-key": settings.s3_secret_access_key,
        "s3.session-token": settings.s3_session_token,
        # pyarrow's FileIO reads force-virtual-addressing (default true); fsspec's and the Rust
        # FileIO read path-style-access: both are set so any FileIO addresses buckets alike.
        "s3.force-virtual-addressing": str(not settings.s3_path_style).lower(),
        "s3.path-style-access": str(settings.s3_path_style).lower(),
        "s3.connect-timeout": str(CONNECT_TIMEOUT),
        "s3.request-timeout": str(REQUEST_TIMEOUT),
    }
    return {k: v for k, v in found.items() if v}


def s3_filesystem(settings: Settings) -> pafs.S3FileSystem:
    """A pyarrow S3 filesystem configured from the settings (what the object store uses)."""
    import pyarrow.fs as pafs

    options: dict[str, object] = {
        "region": settings.s3_region,
        "force_virtual_addressing": not settings.s3_path_style,
        "connect_timeout": CONNECT_TIMEOUT,
        "request_timeout": REQUEST_TIMEOUT,
        # Not told otherwise, the AWS SDK retries an unreachable endpoint for minutes.
        "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=2),
    }
    if settings.s3_endpoint:
        options["endpoint_override"] = settings.s3_endpoint
    if settings.s3_access_key_id:
        options["access_key"] = settings.s3_access_key_id
        options["secret_key"] = settings.s3_secret_access_key
        if settings.s3_session_token:
            options["session_token"] = settings.s3_session_token
    return pafs.S3FileSystem(**options)


def split_s3(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` → (``bucket``, ``prefix`` without slashes at either end)."""
    rest = url.removeprefix("s3://")
    bucket, _, prefix = rest.partition("/")
    return bucket, prefix.strip("/")
