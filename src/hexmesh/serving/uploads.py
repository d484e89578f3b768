"""Product folders sent to a node over HTTP (``POST /deploy``), unpacked before anything trusts them.

A deploy over HTTP sends the folder ``hexmesh deploy`` would read, as a tar archive (gzip or not).
It is hostile input until unpacked: only regular files and folders, names inside the folder (no
absolute paths, no ``..``, no links or devices), at most :data:`MAX_FILES` files and
:data:`MAX_UNPACKED_BYTES` once unpacked, checked on the archive's own listing before a byte is
written (a small archive that unpacks to gigabytes is refused unread). The folder is then kept
under ``<home>/uploads/`` as the product's origin, as a folder given to the CLI is: sources
relative to the spec resolve there.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import uuid
from pathlib import Path, PurePosixPath

from hexmesh.errors import HexmeshError

__all__ = ["MAX_FILES", "MAX_UNPACKED_BYTES", "MAX_UPLOAD_BYTES", "UploadError", "unpack"]

#: What a deploy may send: a product folder is specs, SQL, Python and a README, not data.
MAX_UPLOAD_BYTES = 16 * 1024 * 1024
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
MAX_FILES = 2000


class UploadError(HexmeshError):
    """The archive sent to deploy is not a product folder hexmesh will unpack (400)."""

    exit_code = 2
    http_status = 400


def unpack(body: bytes, home: Path) -> Path:
    """Unpack the tar archive ``body`` into a new folder under ``<home>/uploads``; that folder.

    Raises:
        UploadError: not a tar archive, a member that is not a plain file or folder inside it, or
            more than the limits; nothing is left behind.
    """
    try:
        archive = tarfile.open(fileobj=io.BytesIO(body), mode="r:*")  # noqa: SIM115 - closed by the with below
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise UploadError(
            f"the body is not a tar archive ({exc}); send the product folder as one: "
            "tar -czf - -C <folder> . | curl --data-binary @- -H 'Content-Type: application/gzip' …/deploy"
        ) from None
    with archive:
        members = _checked(archive)
        target = home / "uploads" / uuid.uuid4().hex
        target.mkdir(parents=True)
        try:
            archive.extractall(target, members=members, filter="data")
        except (tarfile.TarError, OSError) as exc:
            shutil.rmtree(target, ignore_errors=True)
            raise UploadError(f"the archive could not be unpacked: {exc}") from None
    return target


def _checked(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    members: list[tarfile.TarInfo] = []
    total = 0
    try:
        listing = archive.getmembers()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise UploadError(f"the archive is damaged ({exc}); send it again") from None
    for member in listing:
        name = PurePosixPath(member.name)
        if name.is_absolute() or ".." in name.parts:
            raise UploadError(f"{member.name!r} is outside the product folder; archive the folder's contents only")
        if not (member.isfile() or member.isdir()):
            raise UploadError(f"{member.name!r} is not a plain file or folder (links and devices are refused)")
        total += member.size
        members.append(member)
        if len(members) > MAX_FILES or total > MAX_UNPACKED_BYTES:
            raise UploadError(
                f"the archive holds more than {MAX_FILES} files or {MAX_UNPACKED_BYTES // 2**20} MiB once unpacked; "
                "a product folder carries its code and spec, its data comes through its input ports"
            )
    return members
