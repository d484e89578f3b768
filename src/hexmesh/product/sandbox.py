"""Run a product's Python transformation in a confined process with memory and CPU limits.

The node runs code it did not write. In-process, that code could read the node's keys, tokens and
settings, open its state database, or exhaust its memory. So it runs in a child interpreter
(``_sandbox_child.py``, ``python -I``) that sees none of the node's environment, works in the
product's bundle, and confines itself with Landlock before loading the product's code: it can read
Python's own files and the bundle, write only a private exchange folder and reach no TCP port.
Inputs and outputs cross as Arrow IPC files in that folder. A limit hit, a crash or a refusal is a
:class:`TransformError`, so the run fails cleanly and publishes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from hexmesh.errors import TransformError

__all__ = ["Limits", "run_example", "run_pyspark", "run_python"]

_CHILD = Path(__file__).with_name("_sandbox_child.py")
#: The child's whole environment: nothing of the node's (HEXMESH_*, AWS_*, tokens) crosses. The
#: memory limit counts writable memory (RLIMIT_DATA), so the allocators must not reserve ahead:
#: Arrow's mimalloc pool and glibc's per-thread arenas reserve about 1 GB before any data is read.
_ENV = {
    "PATH": os.defpath,
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "TZ": "UTC",
    "ARROW_DEFAULT_MEMORY_POOL": "system",
    "MALLOC_ARENA_MAX": "2",
}


@dataclass(frozen=True)
class Limits:
    """Memory (MB of writable memory: heap, Arrow buffers) and CPU seconds for one run; 0: no limit."""

    memory_mb: int = 0
    cpu_seconds: int = 0
    #: Wall-clock seconds after which the process is stopped; None: twice the CPU time plus start-up.
    wall: float | None = None

    @classmethod
    def of(cls, node_memory_mb: int, node_cpu_seconds: int, memory_mb: int | None, cpu_seconds: int | None) -> Limits:
        """The spec's limits within the node's (a spec may ask for less, never for more)."""
        return cls(_within(node_memory_mb, memory_mb), _within(node_cpu_seconds, cpu_seconds))

    @property
    def wall_seconds(self) -> float | None:
        """A run that sleeps uses no CPU: it is stopped after twice its CPU time, plus start-up."""
        if self.wall is not None:
            return self.wall
        return self.cpu_seconds * 2 + 30 if self.cpu_seconds else None


def _within(node: int, asked: int | None) -> int:
    if asked is None:
        return node
    return min(node, asked) if node else asked


def run_python(
    bundle: Path, target: str, inputs: dict[str, pa.Table], *, limits: Limits, home: Path, module: str
) -> Any:
    """Call ``file.py:function`` of ``bundle`` with ``inputs`` in a confined process.

    Returns what the function returned: a table, or a dict of port name → table. A returned value
    that is not a table comes back as the text ``!<type name>``, for the caller to explain.

    Raises:
        TransformError: the code failed (with its file and line), hit a limit, or could not be confined.
    """
    file, function = target.split(":", 1)
    job = {"file": file, "function": function, "module": module}
    with _exchange(inputs) as exchange:
        answer = _answer(exchange, job, bundle, inputs, limits, home, file)
        if "single" in answer:
            return _read(exchange, answer["single"])
        return {port: _read(exchange, name) for port, name in answer["ports"].items()}


def run_pyspark(
    bundle: Path,
    target: str,
    inputs: dict[str, tuple[tuple[str, ...], pa.Schema]],
    outputs: dict[str, Path],
    *,
    upstream: str,
    conf: dict[str, Any],
    limits: Limits,
    home: Path,
    module: str,
) -> None:
    """Call ``file.py:function(spark, inputs)`` of ``bundle`` confined, with a Spark Connect session.

    The session's only channel is a :class:`~hexmesh.infra.compute.sparkdoor.PlanDoor` on a Unix
    socket in the exchange folder, forwarding to the Connect server at ``upstream`` the plans that
    read ``inputs`` (port → Parquet files and schema) and write into ``outputs`` (port → folder);
    the child has no TCP at all. The returned DataFrames are written there by Spark.

    Raises:
        TransformError: the code failed (file and line), the door refused its plan, or a limit was hit.
    """
    from hexmesh.infra.compute.sparkdoor import PlanDoor

    file, function = target.split(":", 1)
    job: dict[str, Any] = {"file": file, "function": function, "module": module}
    reads = {f for files, _ in inputs.values() for f in files}
    writes = {port: folder.resolve() for port, folder in outputs.items()}
    with _exchange({}) as exchange:
        for name, (_, schema) in inputs.items():
            (exchange / f"in-{name}.schema").write_bytes(schema.serialize().to_pybytes())
        job["spark"] = {
            "socket": str(exchange / "spark.sock"),
            "conf": conf,
            "inputs": {name: [Path(f).as_uri() for f in files] for name, (files, _) in inputs.items()},
            "outputs": {port: folder.as_uri() for port, folder in writes.items()},
        }
        root = Path(os.path.commonpath([str(f) for f in writes.values()])) if writes else exchange
        with PlanDoor(upstream, exchange / "spark.sock", reads=reads, writes=root):
            _answer(exchange, job, bundle, {name: pa.table({}) for name in inputs}, limits, home, file)


def run_example(
    bundle: Path, code: str, *, product: str, first_line: int, tables: dict[str, pa.Table], limits: Limits, home: Path
) -> None:
    """Run a README's Python block confined like a transformation, with ``read`` bound to ``tables``.

    ``read("dp://<product>/<port>")`` returns that port's table as given (the caller shapes it by
    the reader's policy); nothing is returned. ``first_line`` is the README line of the block's fence.

    Raises:
        TransformError: the block failed (naming its README line), hit a limit, or could not be confined.
    """
    job = {"file": "README example", "example": product, "first_line": first_line, "module": "__main__"}
    with _exchange(tables) as exchange:
        (exchange / "example.py").write_text(code, encoding="utf-8")
        _answer(exchange, job, bundle, tables, limits, home, f"the README example at line {first_line}")


@contextmanager
def _exchange(inputs: dict[str, pa.Table]) -> Iterator[Path]:
    """A private folder holding ``inputs`` as Arrow IPC files, removed afterwards."""
    exchange = Path(tempfile.mkdtemp(prefix="hexmesh-python-"))
    try:
        for name, table in inputs.items():
            with pa.OSFile(str(exchange / f"in-{name}.arrow"), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
                w.write_table(table)
        yield exchange
    finally:
        shutil.rmtree(exchange, ignore_errors=True)


def _answer(
    exchange: Path,
    job: dict[str, Any],
    bundle: Path,
    inputs: dict[str, pa.Table],
    limits: Limits,
    home: Path,
    what: str,
) -> dict[str, Any]:
    """Start the child on ``job`` and return its answer; an error, a limit or a death is a TransformError."""
    job = {
        **job,
        "bundle": str(bundle),
        "exchange": str(exchange),
        "home": str(home),
        "inputs": list(inputs),
        "memory_mb": limits.memory_mb,
        "cpu_seconds": limits.cpu_seconds,
    }
    process = _start(job, bundle, limits, what)
    answer_file = exchange / "answer.json"
    if not answer_file.is_file():
        raise TransformError(_death(process, what, limits))
    answer: dict[str, Any] = json.loads(answer_file.read_text(encoding="utf-8"))
    if "error" in answer:
        raise TransformError(answer["error"])
    return answer


def _start(job: dict[str, Any], bundle: Path, limits: Limits, file: str) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-I", "-X", "utf8", str(_CHILD)]
    try:
        return subprocess.run(
            command,
            input=json.dumps(job).encode(),
            cwd=bundle,
            env=_ENV,
            capture_output=True,
            timeout=limits.wall_seconds,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise TransformError(f"{file} did not finish within {limits.wall_seconds:.0f} s and was stopped") from None


def _death(process: subprocess.CompletedProcess[bytes], file: str, limits: Limits) -> str:
    """Why the child ended without an answer: a limit, a crash, or an exit of the code's own."""
    code = process.returncode
    tail = process.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
    said = f" (it said: {' | '.join(tail)})" if tail else ""
    if code in (-signal.SIGXCPU, -signal.SIGKILL) and limits.cpu_seconds:
        return f"{file} used more than its {limits.cpu_seconds} CPU seconds and was stopped; nothing was published"
    if code < 0:
        name = signal.Signals(-code).name
        memory = f"; with a memory limit of {limits.memory_mb} MB this is usually memory running out" * bool(
            limits.memory_mb
        )
        return f"{file} crashed ({name}){memory}{said}"
    return f"{file} ended the process (exit status {code}) before returning{said}"


def _read(exchange: Path, name: str) -> pa.Table | str:
    if name.startswith("!"):
        return name
    with pa.OSFile(str(exchange / name), "rb") as source:  # into memory: the folder is deleted next
        return pa.ipc.open_file(source).read_all()
