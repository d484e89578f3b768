"""The process a Python transformation runs in (started by ``hexmesh.product.sandbox``).

Run as a script (``python -I _sandbox_child.py``) with the job as JSON on stdin. Before the
product's code is loaded it limits its own memory and CPU time, moves into the bundle, and
confines itself with Landlock: it may read Python's own files and the bundle, write only its
exchange folder, and open no TCP connection. The node's home (keys, tokens, settings, state) and
everything else on disk stay out of reach, whatever the code tries. Only the standard library and
pyarrow are imported here, so the sandbox does not depend on hexmesh being importable.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import sys
import traceback
from pathlib import Path
from typing import Any

# Landlock (linux/landlock.h): access rights by ABI version, and the three system calls (x86-64 and arm64).
_READ = (1 << 0) | (1 << 2) | (1 << 3)  # EXECUTE, READ_FILE, READ_DIR
_ALL_FS = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1}
_CALLS = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446)}
_PR_SET_NO_NEW_PRIVS = 38
_CONNECT_TCP = 1 << 1  # LANDLOCK_ACCESS_NET_CONNECT_TCP
_PR_SET_PDEATHSIG = 1
#: Rights that apply to a file (not a folder): EXECUTE, WRITE_FILE, READ_FILE, TRUNCATE, IOCTL_DEV.
_FILE_RIGHTS = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 14) | (1 << 15)


class _RefusedError(Exception):
    """The sandbox could not be set up; the product's code was not run."""


def _handled_fs(abi: int) -> int:
    return _ALL_FS.get(abi, (1 << 16) - 1)


def _landlock(read: list[str], write: list[str], connect: tuple[int, ...] = ()) -> None:
    """Confine this process: read ``read``, write ``write``, open TCP connections only to ``connect`` ports."""
    calls = _CALLS.get(os.uname().machine)
    if calls is None:
        raise _RefusedError(f"Landlock system calls are not known for {os.uname().machine}")
    create, add_rule, restrict = calls
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(create, None, 0, 1)  # LANDLOCK_CREATE_RULESET_VERSION
    if abi < 1:
        raise _RefusedError(
            "the kernel has no Landlock (Linux 5.13 or later with landlock among its LSMs), so a Python "
            "transformation cannot be kept from the node's files"
        )
    handled = _handled_fs(abi)
    fields = [handled, 3 if abi >= 4 else 0, 3 if abi >= 6 else 0]  # no TCP bind/connect; no signals out
    size = 8 if abi < 4 else (16 if abi < 6 else 24)
    attr = (ctypes.c_uint64 * 3)(*fields)
    ruleset = libc.syscall(create, ctypes.byref(attr), size, 0)
    if ruleset < 0:
        raise _RefusedError(f"creating the Landlock rule set failed (errno {ctypes.get_errno()})")
    rule = (ctypes.c_uint8 * 12)()
    for path, access in [(p, _READ & handled) for p in read] + [(p, handled) for p in write]:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue
        allowed = access if os.path.isdir(path) else access & _FILE_RIGHTS & handled
        ctypes.memmove(rule, ctypes.byref(ctypes.c_uint64(allowed)), 8)
        ctypes.memmove(ctypes.byref(rule, 8), ctypes.byref(ctypes.c_int32(fd)), 4)
        result = libc.syscall(add_rule, ruleset, 1, ctypes.byref(rule), 0)  # LANDLOCK_RULE_PATH_BENEATH
        os.close(fd)
        if result < 0:
            raise _RefusedError(f"allowing {path} in the Landlock rule set failed (errno {ctypes.get_errno()})")
    if connect and abi < 4:
        raise _RefusedError(
            f"the kernel's Landlock (ABI {abi}) cannot allow one TCP port and refuse the others (ABI 4, Linux "
            "6.7, can), so a PySpark transformation cannot be confined; run it on a newer kernel"
        )
    net = (ctypes.c_uint64 * 2)()
    for port in connect:  # LANDLOCK_RULE_NET_PORT: TCP connect to this port only, never bind
        net[0], net[1] = _CONNECT_TCP, port
        if libc.syscall(add_rule, ruleset, 2, ctypes.byref(net), 0) < 0:
            raise _RefusedError(
                f"allowing TCP port {port} in the Landlock rule set failed (errno {ctypes.get_errno()})"
            )
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or libc.syscall(restrict, ruleset, 0) < 0:
        raise _RefusedError(f"entering the Landlock sandbox failed (errno {ctypes.get_errno()})")
    os.close(ruleset)


def _limit(memory_mb: int, cpu_seconds: int) -> None:
    if memory_mb:
        size = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_DATA, (size, size))
    if cpu_seconds:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))


def _readable(home: str, exchange: str) -> list[str]:
    """Python's own files (interpreter, standard library, site-packages) and the system's libraries."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    paths |= {p for p in sys.path if p}
    paths |= {"/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/local/lib", "/etc/ld.so.cache"}
    paths |= {"/usr/share/zoneinfo", "/etc/localtime", "/dev/urandom", "/sys/devices/system/cpu", "/proc/self"}
    real_home = os.path.realpath(home)
    keep = []
    for path in paths:
        real = os.path.realpath(path)
        # A folder holding the node's home would hold its keys: never allowed, whatever it is.
        if real_home == real or real_home.startswith(real.rstrip("/") + "/"):
            continue
        keep.append(path)
    return [*keep, exchange]


def _write(exchange: Path, index: int, value: Any) -> str:
    """Write one returned table as Arrow IPC; a value that is no table is answered by its type's name."""
    import pyarrow as pa

    if isinstance(value, pa.Table):
        table = value
    elif hasattr(value, "__arrow_c_stream__"):  # pandas, polars and others speak the Arrow C stream
        table = pa.table(value)
    else:
        return f"!{type(value).__name__}"
    name = f"out-{index}.arrow"
    with pa.OSFile(str(exchange / name), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return name


def _where(exc: BaseException, path: Path) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
    if not frames:
        return f"{path.name}: "
    frame = frames[-1]
    return f"{path.name}:{frame.lineno} in {frame.name}: "


def _run(job: dict[str, Any]) -> dict[str, Any]:
    exchange, bundle = Path(job["exchange"]), Path(job["bundle"])
    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, 9, 0, 0, 0)  # a node killed with kill -9 takes its code along
    _limit(job["memory_mb"], job["cpu_seconds"])
    os.chdir(bundle)
    import importlib.util

    import pyarrow as pa  # loaded before confinement: its libraries are read-only from here on

    inputs: dict[str, Any] = {}
    for name in [] if "spark" in job else job["inputs"]:
        with pa.memory_map(str(exchange / f"in-{name}.arrow")) as source:
            inputs[name] = pa.ipc.open_file(source).read_all()
    _landlock([*_readable(job["home"], str(exchange)), str(bundle)], [str(exchange)])
    if "example" in job:
        return _example(job, inputs)
    spark = None
    if "spark" in job:
        try:
            spark = _spark_session(job["spark"], inputs, exchange)
        except Exception as exc:  # the Connect server or the client, before the product's code runs
            return {"error": f"the Spark session for {job['file']} could not start: {_first_line(exc)}"}
    path = bundle / job["file"]
    loader_spec = importlib.util.spec_from_file_location(job["module"], path)
    if loader_spec is None or loader_spec.loader is None:
        return {"error": f"cannot load Python transformation {job['file']}"}
    module = importlib.util.module_from_spec(loader_spec)
    sys.path.insert(0, str(bundle))  # so the module can import its siblings
    try:
        loader_spec.loader.exec_module(module)
        function = getattr(module, job["function"], None)
        if not callable(function):
            return {"error": f"{job['file']} has no function {job['function']!r}; define it or fix the spec"}
        result = function(inputs) if spark is None else function(spark, inputs)
        if spark is not None:
            written = _spark_written(job, result, path)
            _release(spark)
            return written
    except MemoryError:
        return {"error": f"{job['file']} ran out of memory: the limit is {job['memory_mb']} MB", "limit": True}
    except Exception as exc:
        return {"error": _where(exc, path) + _said(exc)}
    if not isinstance(result, dict):
        return {"single": _write(exchange, 0, result)}
    return {"ports": {str(port): _write(exchange, i, value) for i, (port, value) in enumerate(result.items())}}


def _spark_session(spark_job: dict[str, Any], frames: dict[str, Any], exchange: Path) -> Any:
    """A Spark Connect session whose only channel is hexmesh's door (a Unix socket in the exchange folder).

    The door forwards only plans that read this run's input files (infra/compute/sparkdoor.py).
    """
    import warnings

    import pyarrow as pa

    # pyspark.sql.functions builds Connect expressions only in Connect mode, which this variable selects.
    os.environ["SPARK_CONNECT_MODE_ENABLED"] = "1"
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
    from pyspark.sql.connect.client import DefaultChannelBuilder
    from pyspark.sql.connect.session import SparkSession
    from pyspark.sql.pandas.types import from_arrow_schema

    class _Door(DefaultChannelBuilder):
        @property
        def endpoint(self) -> str:
            return f"unix:{spark_job['socket']}"

    spark = SparkSession.builder.channelBuilder(_Door("sc://localhost")).config(map=spark_job["conf"]).getOrCreate()
    for name, files in spark_job["inputs"].items():
        if files:
            frames[name] = spark.read.parquet(*files)
        else:  # from the schema: a Connect session cannot infer one from no rows
            schema = pa.ipc.read_schema(pa.py_buffer((exchange / f"in-{name}.schema").read_bytes()))
            frames[name] = spark.createDataFrame([], from_arrow_schema(schema))
    return spark


def _spark_written(job: dict[str, Any], result: Any, path: Path) -> dict[str, Any]:
    """Write what a PySpark build returned, through the door, into the run's output folder; or say why not."""
    outputs: dict[str, str] = job["spark"]["outputs"]
    if not isinstance(result, dict):
        if len(outputs) != 1:
            return {"error": f"{path.name} returned one DataFrame but the product has {len(outputs)} output ports; "
                    f"return a dict keyed by port name ({', '.join(outputs)})"}  # fmt: skip
        result = {next(iter(outputs)): result}
    if sorted(result) != sorted(outputs):
        return {"error": f"{path.name} returned DataFrames for {sorted(result)}, expected exactly {sorted(outputs)}"}
    for port, frame in result.items():
        if not hasattr(frame, "write") or not hasattr(frame, "schema"):
            return {"error": f"{path.name} returned {type(frame).__name__} for port {port!r}; return a Spark DataFrame"}
        try:
            frame.write.mode("overwrite").parquet(outputs[port])
        except Exception as exc:  # Spark's refusal of the plan, or the door's
            return {"error": f"{path.name}: Spark could not compute port {port!r}: {_said(exc).splitlines()[0]}"}
    return {"spark": sorted(outputs)}


def _release(spark: Any) -> None:
    """End the Connect session on the server (a shared ``sc://`` server would keep it until it times out)."""
    with contextlib.suppress(Exception):  # the outputs are written; a session the server drops costs nothing
        spark.stop()


def _said(exc: BaseException) -> str:
    """The exception as one message; the door's refusal of a Spark plan without gRPC's wrapping."""
    text = str(exc)
    if _REFUSED in text:
        return _REFUSED + text.split(_REFUSED, 1)[1].splitlines()[0].removesuffix('"')
    return f"{type(exc).__name__}: {exc}"


_REFUSED = "hexmesh refused the plan: "


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _example(job: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    """Run a README's Python block with ``read`` bound: ``read("dp://<product>/<port>")`` is that port's table."""
    key, path = job["example"], Path(job["exchange"], "example.py")

    def read(ref: str) -> Any:
        port = ref.removeprefix(f"dp://{key}/").split("@", 1)[0]
        if port not in inputs:
            known = ", ".join(f"dp://{key}/{p}" for p in sorted(inputs)) or "none"
            raise LookupError(f"{ref!r} is not a port of {key} this example can read (readable here: {known})")
        return inputs[port]

    try:
        code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
        exec(code, {"__name__": "__main__", "read": read})  # the owner's example, confined
    except MemoryError:
        return {"error": f"the example ran out of memory: the limit is {job['memory_mb']} MB", "limit": True}
    except Exception as exc:  # any failure of the example is its result
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
        line = (frames[-1].lineno or 0) if frames else getattr(exc, "lineno", 0) or 0
        return {"error": f"README line {job['first_line'] + line}: {type(exc).__name__}: {exc}"}
    return {"done": True}


def main() -> None:
    job = json.loads(sys.stdin.read())
    try:
        answer = _run(job)
    except _RefusedError as exc:
        answer = {"error": str(exc), "refused": True}
    except MemoryError:
        answer = {"error": f"{job['file']} ran out of memory: the limit is {job['memory_mb']} MB", "limit": True}
    Path(job["exchange"], "answer.json").write_text(json.dumps(answer), encoding="utf-8")


if __name__ == "__main__":
    main()
