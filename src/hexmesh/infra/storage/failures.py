"""Object-storage errors that say which setting to fix.

pyarrow reports S3 failures as ``OSError`` with the AWS error code in the text; :func:`explain`
turns the three a new deployment meets (a refused credential, an unreachable endpoint, a missing
bucket) into messages that name the setting and its variable.
"""

from __future__ import annotations

from hexmesh.errors import StorageError

__all__ = ["StorageError", "explain"]

_CREDENTIALS = ("ACCESS_DENIED", "AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "INVALID_ACCESS_KEY")
_UNREACHABLE = ("NETWORK_CONNECTION", "Could not connect", "Could not resolve host", "Connection refused", "curlCode")
_NO_BUCKET = ("NoSuchBucket", "NO_SUCH_BUCKET", "bucket does not exist")


def explain(exc: BaseException, *, what: str, url: str, endpoint: str, setting: str) -> StorageError | None:
    """A :class:`StorageError` for a known S3 failure of ``what`` at ``url``; None for others.

    ``setting`` names the setting holding ``url`` (``storage`` or ``warehouse``).
    """
    from hexmesh.infra.settings import variable

    text = str(exc)
    where = endpoint or "AWS S3 (no s3_endpoint set)"
    if any(code in text for code in _NO_BUCKET):
        return StorageError(
            f"the bucket of {what} {url!r} does not exist on {where}; create the bucket, or fix the setting "
            f"{setting} ({variable(setting)})"
        )
    if any(code in text for code in _CREDENTIALS):
        return StorageError(
            f"{where} refused the credentials for {what} {url!r} ({_first_line(text)}); fix the settings "
            f"s3_access_key_id and s3_secret_access_key ({variable('s3_access_key_id')}, "
            f"{variable('s3_secret_access_key')}, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        )
    if any(code in text for code in _UNREACHABLE):
        return StorageError(
            f"cannot reach the S3 endpoint {where} for {what} {url!r} ({_first_line(text)}); fix the setting "
            f"s3_endpoint ({variable('s3_endpoint')} or AWS_ENDPOINT_URL), or start the server"
        )
    return None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else "no detail"
