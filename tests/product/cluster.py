"""A throwaway PostgreSQL cluster of the machine's own server binaries, for settings the shared server lacks.

``initdb`` into a temporary folder, ``pg_ctl start`` on a free port with the given settings, and
stop and remove it at the end. PostgreSQL refuses to run as root: as root, the commands run as
the ``postgres`` user (``runuser``), which the server's Debian package creates.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["cluster"]


def _bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql (apt install postgresql)")
    return found[-1].parent


def _as_server_user(*command: str) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def cluster(**settings: str) -> Iterator[str]:
    """Yield the URL (``postgresql://postgres@127.0.0.1:<port>/postgres``) of a new cluster with ``settings``."""
    binaries = _bin()
    folder = Path(tempfile.mkdtemp(prefix="hexmesh-pg-"))
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    port = _free_port()
    options = " ".join(
        [f"-p {port}", "-c listen_addresses=127.0.0.1", f"-c unix_socket_directories={folder}"]
        + [f"-c {key}={value}" for key, value in settings.items()]
    )
    try:
        _as_server_user(str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        _as_server_user(
            str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"
        )
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            _as_server_user(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
