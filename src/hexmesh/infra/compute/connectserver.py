"""A Spark Connect server that hexmesh starts for one PySpark run, attached to ``local[N]`` or a standalone master.

A PySpark build is a Connect client in a sandbox; its driver must be hexmesh's, not the product's
(docs/adr/0038-pyspark-builds.md). The pyspark wheel bundles the server
(``spark-submit --class org.apache.spark.sql.connect.service.SparkConnectServer``). It listens on
loopback only and starts with an environment of its own: none of the node's secrets
(``HEXMESH_*``, ``AWS_*``) reach the JVM, so no expression could read them back. It is stopped
when the run ends: a long-lived Connect application would hold the cluster's cores.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hexmesh.errors import TransformError

__all__ = ["connect_server"]

_START_SECONDS = 300.0
#: What the JVM needs from the node's environment, and nothing else.
_KEEP = ("PATH", "JAVA_HOME", "LANG", "TZ")


@contextmanager
def connect_server(master: str, conf: dict[str, str]) -> Iterator[str]:
    """``127.0.0.1:<port>`` of a running Connect server whose driver runs on ``master``; stopped on exit."""
    import pyspark

    submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    port = _free_port()
    settings = {
        **conf,
        "spark.connect.grpc.binding.port": str(port),
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
    }
    command = [str(submit), "--class", "org.apache.spark.sql.connect.service.SparkConnectServer", "--master", master]
    for key, value in settings.items():
        command += ["--conf", f"{key}={value}"]
    env = {k: v for k, v in os.environ.items() if k in _KEEP} | {"SPARK_LOCAL_IP": "127.0.0.1"}
    with tempfile.TemporaryDirectory(prefix="hexmesh-connect-") as folder:
        log = Path(folder) / "connect.log"
        env["SPARK_LOG_DIR"] = folder
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=folder, start_new_session=True
            )
        try:
            _wait(process, port, log, master)
            yield f"127.0.0.1:{port}"
        finally:
            _stop(process)


def _wait(process: subprocess.Popen[bytes], port: int, log: Path, master: str) -> None:
    deadline = time.monotonic() + _START_SECONDS
    while process.poll() is None and time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    tail = " | ".join(log.read_text(errors="replace").strip().splitlines()[-3:])
    raise TransformError(
        f"the Spark Connect server for spark_master {master} did not start ({tail or 'no output'}); check Java 17 "
        "and the master. Nothing was published"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
