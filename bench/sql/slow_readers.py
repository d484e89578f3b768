"""Clients that stop reading big results: does a newcomer's ``select 1`` answer, and what memory does the server hold?

Each round starts the SQL port in its own process over the cached play-events workspace
(``bench/sf10.py``, scale ``--scale``, default 1), opens ``--clients`` sockets that each send
``select * from plays`` and then read nothing (as a BI tool's cursor left open, or a client
stuck), lets the engine work, then runs one more client's ``select 1``; then kills the stalled
clients and looks again. Rounds, each with the port's settings changed as named:

- ``spool``: the defaults (ADR 0045: results wait in 16 MiB per session / 256 MiB in all, then on disk);
- ``no spool``: no memory and no disk for results, so the engine produces at the client's pace and
  keeps its turn, as before ADR 0045;
- ``spool, memory unbounded``: results wait in memory only, to show what the bound saves.

Reports the server's resident memory after the engine had time to work, its peak (VmHWM), whether
``select 1`` answered (the admission timeout is 20 s: a starved one fails with 53000) and after how
long. Writes bench/results/sql-slow-readers.json. Run: ``python -m bench.sql.slow_readers``.
"""

from __future__ import annotations

import argparse
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from bench.node._node import free_port
from bench.report import Result, show
from bench.sf10 import play_events

ROUNDS: dict[str, dict[str, int]] = {
    "spool": {},
    "no spool": {"result_memory": 0, "result_spill": 0},
    "spool, memory unbounded": {"result_memory": 2**40, "result_memory_total": 2**40},
}


@contextmanager
def server(home: Path, changes: dict[str, int]) -> Iterator[tuple[int, int]]:
    """The port (its TCP port and process id) with ``changes`` to its SqlPortConfig."""
    port = free_port()
    options = [f"{k}={v}" for k, v in {"admission_timeout": 20, **changes}.items()]
    command = [sys.executable, "-m", "bench.sql._server", str(home), str(port), *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=60)


def memory_mb(pid: int, field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def stalled(port: int, query: str) -> socket.socket:
    """A socket that logs in, sends ``query`` and will read nothing more than the login's answer."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    body = struct.pack("!i", 196608) + b"user\0bench\0database\0mesh\0\0"
    sock.sendall(struct.pack("!i", len(body) + 4) + body)
    seen = b""
    while not seen.endswith(b"Z\x00\x00\x00\x05I"):  # ReadyForQuery, idle
        seen += sock.recv(4096)
    message = query.encode() + b"\0"
    sock.sendall(b"Q" + struct.pack("!i", len(message) + 4) + message)
    return sock


def settled(pid: int, looks: int = 60) -> float:
    """Resident memory once it stops growing (the engines are done or wait for their clients)."""
    last = memory_mb(pid, "VmRSS")
    for _ in range(looks):
        time.sleep(1.0)
        now = memory_mb(pid, "VmRSS")
        if abs(now - last) < 2:
            return now
        last = now
    return last


def select_1(port: int) -> tuple[str, float]:
    started = time.perf_counter()
    try:
        with psycopg.connect(f"host=127.0.0.1 port={port} user=bench dbname=mesh sslmode=disable") as con:
            con.execute("select 1").fetchone()
        outcome = "answered"
    except psycopg.Error as exc:
        outcome = f"{exc.sqlstate}: {str(exc).splitlines()[0]}"
    return outcome, time.perf_counter() - started


def one_round(home: Path, changes: dict[str, int], clients: int, query: str) -> dict[str, object]:
    with server(home, changes) as (port, pid):
        idle = memory_mb(pid, "VmRSS")
        socks = [stalled(port, query) for _ in range(clients)]
        held = settled(pid)
        outcome, seconds = select_1(port)
        for sock in socks:  # killed: closed at once, with a reset
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        after_outcome, _ = select_1(port)
        return {
            "idle_rss_mb": round(idle),
            "rss_while_stalled_mb": round(held),
            "peak_rss_mb": round(memory_mb(pid, "VmHWM")),
            "select_1_while_stalled": outcome,
            "select_1_seconds": round(seconds, 3),
            "select_1_after_kill": after_outcome,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    workspace, table = play_events(args.scale)
    home = workspace.settings.home
    workspace.close()
    query = f"select * from {table}"
    rounds = {name: one_round(home, changes, args.clients, query) for name, changes in ROUNDS.items()}
    result = Result(
        "sql-slow-readers",
        f"{args.clients} stalled clients do not block select 1; memory stays bounded",
        headline=[(f"{name}: select 1 / RSS stalled / peak", _line(r)) for name, r in rounds.items()],
        data={"scale": args.scale, "clients": args.clients, "query": query, "rounds": rounds},
    )
    result.write()
    show([result])


def _line(r: dict[str, object]) -> str:
    return f"{r['select_1_while_stalled']} / {r['rss_while_stalled_mb']} MiB / {r['peak_rss_mb']} MiB"


if __name__ == "__main__":
    main()
