"""A real Spark standalone cluster on loopback: one master and two workers, from the pyspark wheel;
and a Spark Connect server from the same wheel (its jar is in ``pyspark/jars``).

Started once per test session (``spark_master`` fixture in tests/conftest.py) and stopped at its
end; each process writes its log into the session's temporary folder, shown when it fails to start.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Cluster", "connect_server", "standalone_cluster"]

_WORKERS = 2
_START_TIMEOUT_S = 240.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _spark_class() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "bin" / "spark-class"


@dataclass
class Cluster:
    """A running standalone cluster: its master's URL, its web UI's JSON, and its worker processes."""

    master: str
    ui: int
    folder: Path
    env: dict[str, str]
    memory: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    killed: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def state(self) -> dict[str, Any]:
        """The master's view of the cluster (``/json/``: workers, applications)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui}/json/", timeout=5) as answer:
            return dict(json.load(answer))

    def start_worker(self) -> None:
        n = len(self.workers)
        args = ["--host", "127.0.0.1", "--cores", "1", "--memory", self.memory, "--webui-port", str(_free_port())]
        worker = self._start(f"worker{n}", "org.apache.spark.deploy.worker.Worker", self.master, *args,
                             "--work-dir", str(self.folder / f"work{n}"))  # fmt: skip
        self.workers.append(worker)

    def kill_worker(self, n: int) -> None:
        """SIGKILL worker ``n``'s JVM (its executors notice their worker is gone and exit)."""
        self.killed.append(self.workers[n])
        self.workers[n].kill()
        self.workers[n].wait()

    def wait_for_workers(self, count: int) -> None:
        """Until the master counts ``count`` alive workers."""
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.processes if p not in self.killed):
                break
            try:
                if self.state().get("aliveworkers", 0) >= count:
                    return
            except OSError:
                pass
            time.sleep(1)
        logs = "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}" for p in sorted(self.folder.glob("*.log"))
        )
        raise RuntimeError(f"the Spark standalone cluster did not start with {count} workers:\n{logs}")

    def wait_for_cores(self) -> None:
        """Until every running application holds cores again (an executor on a worker)."""
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            apps = self.state().get("activeapps", [])
            if apps and all(app.get("cores", 0) > 0 for app in apps):
                return
            time.sleep(0.5)
        raise RuntimeError(f"no application of the Spark cluster got cores back: {self.state()}")

    def _start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with (self.folder / f"{name}.log").open("wb") as log:  # the child keeps its own descriptor
            process = subprocess.Popen(
                [str(_spark_class()), *args], stdout=log, stderr=subprocess.STDOUT, env=self.env,
                start_new_session=True,
            )  # fmt: skip
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for process in self.processes:  # a killed worker's executors, in the worker's process group
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def standalone_cluster(folder: Path, workers: int = _WORKERS, memory: str = "1g") -> Iterator[Cluster]:
    """A running master with ``workers`` registered workers of one core and ``memory`` each, stopped at the end."""
    folder.mkdir(parents=True, exist_ok=True)
    port, ui = _free_port(), _free_port()
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOG_DIR": str(folder), "SPARK_WORKER_DIR": str(folder)}
    cluster = Cluster(f"spark://127.0.0.1:{port}", ui, folder, env, memory)
    try:
        cluster._start("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                       "--webui-port", str(ui))  # fmt: skip
        for _ in range(workers):
            cluster.start_worker()
        cluster.wait_for_workers(workers)
        yield cluster
    finally:
        cluster.stop()


@contextmanager
def connect_server(folder: Path, master: str = "local[1]") -> Iterator[str]:
    """``sc://127.0.0.1:<port>`` of a running Spark Connect server whose driver runs on ``master``.

    ``local[1]`` by default: a Connect server is a long-lived application, and on the session's
    standalone cluster it would hold the workers' cores that the other Spark tests need.
    """
    folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    submit = str(_spark_class().with_name("spark-submit"))
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOG_DIR": str(folder)}
    with (folder / "connect.log").open("wb") as log:
        process = subprocess.Popen(
            [submit, "--class", "org.apache.spark.sql.connect.service.SparkConnectServer", "--master", master,
             "--conf", f"spark.connect.grpc.binding.port={port}",
             "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
             "--conf", "spark.ui.enabled=false", "--conf", "spark.driver.host=127.0.0.1"],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while process.poll() is None and time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2):
                    break
            except OSError:
                time.sleep(1)
        else:
            text = (folder / "connect.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the Spark Connect server did not start:\n{text}")
        yield f"sc://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
