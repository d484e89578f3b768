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
from contextlib import contextmanager
from pathlib import Path

__all__ = ["connect_server", "standalone_cluster"]

_WORKERS = 2
_START_TIMEOUT_S = 240.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _spark_class() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "bin" / "spark-class"


@contextmanager
def standalone_cluster(folder: Path) -> Iterator[str]:
    """``spark://127.0.0.1:<port>`` of a running master with two registered workers."""
    folder.mkdir(parents=True, exist_ok=True)
    port, ui = _free_port(), _free_port()
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOG_DIR": str(folder), "SPARK_WORKER_DIR": str(folder)}
    spark_class = str(_spark_class())
    processes: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str) -> None:
        with (folder / f"{name}.log").open("wb") as log:  # the child keeps its own descriptor
            processes.append(
                subprocess.Popen(
                    [spark_class, *args], stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
                )
            )

    master = f"spark://127.0.0.1:{port}"
    try:
        start("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
              "--webui-port", str(ui))  # fmt: skip
        for n in range(_WORKERS):
            start(f"worker{n}", "org.apache.spark.deploy.worker.Worker", master, "--host", "127.0.0.1",
                  "--cores", "1", "--memory", "1g", "--webui-port", str(_free_port()),
                  "--work-dir", str(folder / f"work{n}"))  # fmt: skip
        _wait_for_workers(ui, processes, folder)
        yield master
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


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


def _wait_for_workers(ui: int, processes: list[subprocess.Popen[bytes]], folder: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            break
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{ui}/json/", timeout=5) as answer:
                state = json.load(answer)
            if state.get("aliveworkers", 0) >= _WORKERS:
                return
        except OSError:
            pass
        time.sleep(1)
    logs = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}" for p in sorted(folder.glob("*.log")))
    raise RuntimeError(f"the Spark standalone cluster did not start with {_WORKERS} workers:\n{logs}")
