"""A cluster of real ``hexmesh serve`` processes on one PostgreSQL, one NATS and shared storage.

Each node has its own home and settings file; they share the state store and catalog (a database
of their own on the PostgreSQL server), the warehouse and object storage (a folder, or a prefix of
each bucket of a SeaweedFS S3 server), the NATS server, and the cluster's secrets. A node of another
mesh (``standalone``) has embedded storage of its own and shares nothing. Used by the cluster tests
and by bench/cluster.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import yaml

from hexmesh.infra.keys import generate_master_key
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
from tests.cluster.network import LOOPBACK, Forwarder, Host, hosts
from tests.server.nodes import HEXMESH, free_port
from tests.stacks import S3Server, nats_server

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
#: The settings file of a cluster's node from the deployment guide: the tests use it as it is.
SETTINGS = Path(__file__).parents[2] / "docs" / "deployment" / "cluster-node.yaml"


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass
class ClusterNode:
    name: str
    home: Path
    host: Host = LOOPBACK
    #: A node of a mesh of its own (embedded storage), not of the cluster.
    standalone: bool = False
    url: str = ""
    #: Its SQL port (psycopg's connection string).
    sql: str = ""
    process: subprocess.Popen[bytes] | None = None

    def kill(self) -> None:
        """kill -9: no shutdown, no lease released."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def configure(self, **values: object) -> None:
        """Add settings keys to the node's settings file (before it starts)."""
        with (self.home / "settings.yaml").open("a", encoding="utf-8") as out:
            out.write(yaml.safe_dump(values))

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.home.glob("serve-*.log")))


@dataclass
class Cluster:
    root: Path
    database: str
    nats: str
    nodes: list[ClusterNode] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)
    #: Short in tests; benchmarks measure the default.
    lease_seconds: float = 2
    #: Where the next nodes run (one each, in turn); loopback when empty.
    hosts: list[Host] = field(default_factory=list)
    #: The S3 server holding the warehouse and object storage (under a prefix of this cluster's); None: folders.
    s3: S3Server | None = None
    prefix: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    #: What the cluster ends when it ends (forwarders made for peers).
    stack: ExitStack = field(default_factory=ExitStack)

    def environment(self, name: str, host: Host = LOOPBACK) -> dict[str, str]:
        """What differs between clusters and nodes, as the variables docs/deployment/cluster-node.yaml reads."""
        shared = self.root / "shared"

        # A node in a namespace of its own reaches the shared services through its gateway.
        def reach(url: str) -> str:
            return url.replace("127.0.0.1", host.gateway) if host.netns else url

        storage = {
            "MESH_WAREHOUSE": (shared / "warehouse").as_uri(),
            "MESH_STORAGE": (shared / "objects").as_uri(),
        }
        if self.s3 is not None:
            storage = {
                "MESH_WAREHOUSE": f"s3://warehouse/{self.prefix}",
                "MESH_STORAGE": f"s3://storage/{self.prefix}",
                "MESH_S3_ENDPOINT": reach(self.s3.endpoint),
                "MESH_S3_ACCESS_KEY_ID": self.s3.access_key,
                "MESH_S3_SECRET_ACCESS_KEY": self.s3.secret_key,
            }
        return {
            "MESH_DATABASE_URL": reach(self.database),
            **storage,
            "MESH_NATS_URL": reach(self.nats),
            "MESH_MASTER_KEY": self.secrets["master_key"],
            "MESH_SECRET": self.secrets["secret"],
            "MESH_LEASE_SECONDS": str(self.lease_seconds),
            "NODE_NAME": name,
        }

    def node(self, name: str, *, standalone: bool = False, **extra: object) -> ClusterNode:
        """A node whose settings file is the deployment guide's, plus ``extra`` keys (placement, ...).

        ``standalone``: a node of a mesh of its own instead, on the embedded defaults (its home only).
        """
        home = self.root / name
        home.mkdir(parents=True, exist_ok=True)
        text = "" if standalone else SETTINGS.read_text(encoding="utf-8")
        if extra or standalone:
            text += yaml.safe_dump({"node_name": name, **extra} if standalone else extra)
        (home / "settings.yaml").write_text(text)
        host = self.hosts[len(self.nodes) % len(self.hosts)] if self.hosts else LOOPBACK
        node = ClusterNode(name, home, host, standalone)
        self.nodes.append(node)
        return node

    def workspace(self, node: ClusterNode) -> Workspace:
        """The node's workspace in this process (to deploy and look), with the node's environment."""
        with _environment({} if node.standalone else self.environment(node.name)):
            return Workspace(Settings.load(node.home))

    def start(self, node: ClusterNode) -> ClusterNode:
        port, sql = free_port(), free_port()
        log = (node.home / f"serve-{port}.log").open("wb")
        environment = {} if node.standalone else self.environment(node.name, node.host)
        node.process = subprocess.Popen(
            node.host.command(HEXMESH, "serve", "--home", str(node.home), "--host", node.host.address,
                              "--http-port", str(port), "--sql-port", str(sql), "--no-auth", "--log-level", "warning"),
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **environment},
        )  # fmt: skip
        log.close()
        node.url = f"http://{node.host.address}:{port}"
        node.sql = f"postgresql://hexmesh@{node.host.address}:{sql}/hexmesh"
        for _ in range(600):
            if node.process.poll() is not None:
                raise RuntimeError(f"node {node.name} did not start:\n{node.log()}")
            try:
                if httpx.get(node.url + "/", timeout=1).status_code == 200:
                    return node
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"node {node.name} did not answer:\n{node.log()}")

    def peers(self, reader: ClusterNode, *served: ClusterNode) -> list[str]:
        """The URLs ``reader`` reaches the started nodes ``served`` at (through a forwarder on its gateway,
        from a namespace of its own)."""
        if not reader.host.netns:
            return [node.url for node in served]
        ports = {int(node.url.rsplit(":", 1)[1]): node for node in served}
        self.stack.enter_context(
            Forwarder([reader.host.gateway], {port: (node.host.address, port) for port, node in ports.items()})
        )
        return [f"http://{reader.host.gateway}:{port}" for port in ports]

    def stop(self) -> None:
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.terminate()
                try:
                    node.process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    node.process.kill()
                    node.process.wait()


@contextmanager
def database() -> Iterator[str]:
    name = f"hexmesh_cluster_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'drop database "{name}" with (force)')


@contextmanager
def cluster(root: Path, *, separate_hosts: int = 0, s3: S3Server | None = None) -> Iterator[Cluster]:
    """A cluster's shared infrastructure; nodes are added with :meth:`Cluster.node` and started by the caller.

    With ``separate_hosts``, that many network namespaces (tests/cluster/network.py) take the nodes in
    turn, reaching PostgreSQL, NATS and S3 through a forwarder; without namespaces, loopback. With
    ``s3``, the warehouse and object storage are on that server (else folders under ``root``).
    """
    with ExitStack() as stack:
        url = stack.enter_context(database())
        nats = stack.enter_context(nats_server(root))
        places = stack.enter_context(hosts(separate_hosts)) if separate_hosts else []
        gateways = [h.gateway for h in places if h.netns]
        if gateways:
            ports = [5432, int(nats.rsplit(":", 1)[1])] + ([int(s3.endpoint.rsplit(":", 1)[1])] if s3 else [])
            stack.enter_context(Forwarder(gateways, {port: port for port in ports}))
        made = Cluster(root, url, nats, secrets={"master_key": generate_master_key(), "secret": uuid.uuid4().hex})
        made.hosts, made.s3 = places, s3
        try:
            with made.stack:
                yield made
        finally:
            made.stop()
