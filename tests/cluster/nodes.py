"""A cluster of real ``hexmesh serve`` processes on one PostgreSQL, one NATS and shared storage.

Each node has its own home and settings file; they share the state store and catalog (a database
of their own on the PostgreSQL server), the warehouse and object storage (a folder), the NATS
server, and the cluster's secrets. Used by the cluster tests and by bench/cluster.
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
from tests.server.nodes import HEXMESH, free_port, nats_server

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
    url: str = ""
    process: subprocess.Popen[bytes] | None = None

    def kill(self) -> None:
        """kill -9: no shutdown, no lease released."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

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

    def environment(self, name: str, host: Host = LOOPBACK) -> dict[str, str]:
        """What differs between clusters and nodes, as the variables docs/deployment/cluster-node.yaml reads."""
        shared = self.root / "shared"

        # A node in a namespace of its own reaches the shared services through its gateway.
        def reach(url: str) -> str:
            return url.replace("127.0.0.1", host.gateway) if host.netns else url

        return {
            "MESH_DATABASE_URL": reach(self.database),
            "MESH_WAREHOUSE": (shared / "warehouse").as_uri(),
            "MESH_STORAGE": (shared / "objects").as_uri(),
            "MESH_NATS_URL": reach(self.nats),
            "MESH_MASTER_KEY": self.secrets["master_key"],
            "MESH_SECRET": self.secrets["secret"],
            "MESH_LEASE_SECONDS": str(self.lease_seconds),
            "NODE_NAME": name,
        }

    def node(self, name: str, **extra: object) -> ClusterNode:
        """A node whose settings file is the deployment guide's, plus ``extra`` keys (placement, ...)."""
        home = self.root / name
        home.mkdir(parents=True, exist_ok=True)
        text = SETTINGS.read_text(encoding="utf-8")
        if extra:
            text += yaml.safe_dump(extra)
        (home / "settings.yaml").write_text(text)
        node = ClusterNode(name, home, self.hosts[len(self.nodes) % len(self.hosts)] if self.hosts else LOOPBACK)
        self.nodes.append(node)
        return node

    def workspace(self, node: ClusterNode) -> Workspace:
        """The node's workspace in this process (to deploy and look), with the node's environment."""
        with _environment(self.environment(node.name)):
            return Workspace(Settings.load(node.home))

    def start(self, node: ClusterNode) -> ClusterNode:
        port = free_port()
        log = (node.home / f"serve-{port}.log").open("wb")
        node.process = subprocess.Popen(
            node.host.command(HEXMESH, "serve", "--home", str(node.home), "--host", node.host.address,
                              "--http-port", str(port), "--sql-port", "0", "--no-auth", "--log-level", "warning"),
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **self.environment(node.name, node.host)},
        )  # fmt: skip
        log.close()
        node.url = f"http://{node.host.address}:{port}"
        for _ in range(600):
            if node.process.poll() is not None:
                raise RuntimeError(f"node {node.name} did not start:\n{node.log()}")
            try:
                if httpx.get(node.url + "/", timeout=1).status_code == 200:
                    return node
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"node {node.name} did not answer:\n{node.log()}")

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
def cluster(root: Path, *, separate_hosts: int = 0) -> Iterator[Cluster]:
    """A cluster's shared infrastructure; nodes are added with :meth:`Cluster.node` and started by the caller.

    With ``separate_hosts``, that many network namespaces (tests/cluster/network.py) take the nodes in
    turn, reaching PostgreSQL and NATS through a forwarder; without namespaces, loopback.
    """
    with ExitStack() as stack:
        url = stack.enter_context(database())
        nats = stack.enter_context(nats_server(root))
        places = stack.enter_context(hosts(separate_hosts)) if separate_hosts else []
        gateways = [h.gateway for h in places if h.netns]
        if gateways:
            nats_port = int(nats.rsplit(":", 1)[1])
            stack.enter_context(Forwarder(gateways, {5432: 5432, nats_port: nats_port}))
        made = Cluster(root, url, nats, secrets={"master_key": generate_master_key(), "secret": uuid.uuid4().hex})
        made.hosts = places
        try:
            yield made
        finally:
            made.stop()
