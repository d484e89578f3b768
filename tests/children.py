"""Servers a test run starts (nats-server, SeaweedFS): they die with the run, even a killed one.

Each is started with ``PR_SET_PDEATHSIG`` (Linux): the kernel sends it SIGKILL when the thread that
started it ends, so a pytest run stopped by SIGKILL, a timeout or a closed terminal takes its
servers along (start them from the main thread, as fixtures are). Each is also recorded in a pid
file naming the test process; :func:`reap`, at the start of every run, kills a recorded server
whose test process is gone (a kernel without PDEATHSIG, a server that re-parented itself) and
never one of a run still going, in this worktree or another.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["RECORDS", "alive", "reap", "serving", "start", "stop"]

#: One JSON file per running server: ``{"pid", "owner", "argv"}``.
RECORDS = Path(tempfile.gettempdir()) / f"hexmesh-test-servers-{os.getuid()}"
_PR_SET_PDEATHSIG = 1


def start(argv: list[str], **popen: Any) -> subprocess.Popen[bytes]:
    """``subprocess.Popen(argv, **popen)``, killed by the kernel when this process dies, and recorded."""
    # prctl must run in the child before exec: preexec_fn, the one hook Popen has there.
    process: subprocess.Popen[bytes] = subprocess.Popen(argv, preexec_fn=_dies_with(os.getpid()), **popen)
    RECORDS.mkdir(parents=True, exist_ok=True)
    record = {"pid": process.pid, "owner": os.getpid(), "argv": [str(a) for a in argv]}
    (RECORDS / f"{process.pid}.json").write_text(json.dumps(record), encoding="utf-8")
    return process


def stop(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Terminate ``process`` (killed if it does not exit within ``timeout`` seconds) and forget it."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    (RECORDS / f"{process.pid}.json").unlink(missing_ok=True)


@contextlib.contextmanager
def serving(argv: list[str], port: int, *, within: float = 30, **popen: Any) -> Iterator[subprocess.Popen[bytes]]:
    """:func:`start` a server and wait until it accepts TCP connections on 127.0.0.1:``port``; stopped after."""
    process = start(argv, **popen)
    try:
        deadline = time.monotonic() + within
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{Path(argv[0]).name} did not listen on 127.0.0.1:{port} (exit {process.poll()})")
            time.sleep(0.05)
        yield process
    finally:
        stop(process)


def reap() -> list[int]:
    """Kill the recorded servers of test runs that are gone; the pids killed."""
    killed = []
    for path in sorted(RECORDS.glob("*.json")) if RECORDS.is_dir() else ():
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            pid, owner, argv = int(record["pid"]), int(record["owner"]), list(record["argv"])
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)
            continue
        if alive(owner):
            continue  # a run still going (here or in another worktree) owns it
        if _argv(pid) == argv:  # the same server, not a process that reused its pid
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        path.unlink(missing_ok=True)
    return killed


def _dies_with(parent: int) -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None

    def arm() -> None:  # in the child, between fork and exec
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return arm


def alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (of any user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _argv(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0")[:-1]]
