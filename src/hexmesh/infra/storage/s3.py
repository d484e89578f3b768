"""Object storage on any S3-compatible server (``s3://bucket/prefix``), through pyarrow's S3 client."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.fs as pafs

from hexmesh.infra.storage.failures import StorageError, explain
from hexmesh.infra.storage.s3config import s3_filesystem, split_s3
from hexmesh.infra.storage.store import check_key

if TYPE_CHECKING:
    from hexmesh.infra.settings import Settings

__all__ = ["S3Store"]


class S3Store:
    """Objects under ``s3://bucket/prefix``; S3 puts are atomic by nature (whole objects)."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.storage.rstrip("/")
        self.bucket, self.prefix = split_s3(self.url)
        if not self.bucket:
            raise StorageError(f"storage {settings.storage!r} names no bucket; write s3://bucket or s3://bucket/prefix")
        self._endpoint = settings.s3_endpoint
        self._fs = s3_filesystem(settings)

    def _path(self, key: str) -> str:
        check_key(key)
        return f"{self.bucket}/{self.prefix}/{key}" if self.prefix else f"{self.bucket}/{key}"

    def _fail(self, exc: OSError, key: str) -> StorageError:
        return explain(
            exc, what="object storage", url=self.locate(key), endpoint=self._endpoint, setting="storage"
        ) or (StorageError(f"object storage failed on {self.locate(key)}: {exc}"))

    def put(self, key: str, data: bytes) -> None:
        try:
            with self._fs.open_output_stream(self._path(key)) as out:
                out.write(data)
        except OSError as exc:
            raise self._fail(exc, key) from None

    def put_file(self, key: str, path: Path) -> None:
        with path.open("rb") as source:  # a missing local file is the caller's error, not the store's
            try:
                with self._fs.open_output_stream(self._path(key)) as out:
                    shutil.copyfileobj(source, out, 8 * 1024 * 1024)
            except OSError as exc:
                raise self._fail(exc, key) from None

    def get(self, key: str) -> bytes:
        try:
            with self._fs.open_input_stream(self._path(key)) as source:
                return bytes(source.read())
        except FileNotFoundError:
            raise StorageError(f"no object {key!r} in {self.url}") from None
        except OSError as exc:
            if "NoSuchKey" in str(exc) or "Path does not exist" in str(exc):
                raise StorageError(f"no object {key!r} in {self.url}") from None
            raise self._fail(exc, key) from None

    def exists(self, key: str) -> bool:
        try:
            return bool(self._fs.get_file_info(self._path(key)).type == pafs.FileType.File)
        except OSError as exc:
            raise self._fail(exc, key) from None

    def delete(self, key: str) -> None:
        try:
            self._fs.delete_file(self._path(key))
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise self._fail(exc, key) from None

    def keys(self, prefix: str = "") -> Iterator[str]:
        root = f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket
        selector = pafs.FileSelector(root, recursive=True, allow_not_found=True)
        try:
            infos = self._fs.get_file_info(selector)
        except OSError as exc:
            raise self._fail(exc, prefix or ".") from None
        found = [i.path.removeprefix(root + "/") for i in infos if i.type == pafs.FileType.File]
        yield from sorted(k for k in found if k.startswith(prefix))

    def locate(self, key: str) -> str:
        return f"s3://{self._path(key)}" if key != "." else self.url

    def check(self) -> None:
        try:
            info = self._fs.get_file_info(self.bucket)
        except OSError as exc:
            raise self._fail(exc, ".") from None
        if info.type == pafs.FileType.NotFound:
            where = self._endpoint or "AWS S3"
            raise StorageError(
                f"the bucket {self.bucket!r} of storage {self.url!r} does not exist on {where}; create the bucket, "
                "or fix the setting storage (HEXMESH_STORAGE)"
            )
