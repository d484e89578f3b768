"""A real node for UI tests: uvicorn and (when it exists) the SQL port, in a background thread."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from hexmesh.lifecycle import Workspace
from hexmesh.server import Service, create_app, http_service, run_services
from hexmesh.serving import Node, NodeOptions
from tests.server.nodes import free_port

#: The SQL port is another engineer's module; without it the psycopg test skips (and says so).


@dataclass
class ThreadNode:
    url: str
    sql_dsn: str | None
    workspace: Workspace


def _sql_service(workspace: Workspace, port: int) -> Service:
    async def serve(stop: asyncio.Event) -> None:
        from hexmesh.product.sql import start_sql_port

        server = await start_sql_port(workspace, "127.0.0.1", port)
        try:
            await stop.wait()
        finally:
            await server.close()

    return serve


@contextmanager
def thread_node(home: Path, *, sql: bool = True, auth: bool = False) -> Iterator[ThreadNode]:
    """Serve ``home`` over HTTP (and SQL) until the block ends; wait until it answers.

    Without ``auth`` (``hexmesh serve --no-auth``) every product is shown to everyone.
    """
    http_port, sql_port = free_port(), free_port()
    url = f"http://127.0.0.1:{http_port}"
    dsn = f"postgresql://analyst@127.0.0.1:{sql_port}/mesh?sslmode=disable" if sql else None
    workspace = Workspace.open(home)
    node = Node(workspace, NodeOptions(base_url=url, sql_dsn=dsn, auth=auth))
    services = [http_service(create_app(node), "127.0.0.1", http_port, log_level="warning")]
    if dsn:
        services.append(_sql_service(workspace, sql_port))
    loop = asyncio.new_event_loop()
    stop: list[asyncio.Event] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        stop.append(asyncio.Event())
        loop.run_until_complete(run_services(services, stop[0]))

    thread = threading.Thread(target=run, name="ui-node", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 180  # generous: the machine is shared and slow
        while True:
            try:
                if httpx.get(url + "/api/registry", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or not thread.is_alive():
                raise AssertionError(f"the UI test node at {url} did not answer within 180 s")
            time.sleep(0.2)
        yield ThreadNode(url, dsn, workspace)
    finally:
        if stop:
            loop.call_soon_threadsafe(stop[0].set)
        thread.join(timeout=20)
        loop.close()
        workspace.close()


@dataclass
class ServedNode:
    """``hexmesh serve`` in its own process, as a user runs it."""

    url: str
    sql_port: int
    home: Path


@contextmanager
def served(home: Path, *options: str, env: dict[str, str] | None = None) -> Iterator[ServedNode]:
    """Run ``hexmesh serve --home home *options`` until the block ends; wait until it answers."""
    http_port, sql_port = free_port(), free_port()
    log = (home.parent / f"serve-{http_port}.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hexmesh.cli.main",
            "serve",
            "--http-port",
            str(http_port),
            "--sql-port",
            str(sql_port),
            "--home",
            str(home),
            *(options if "--auth" in options or "--no-auth" in options else ("--no-auth", *options)),
        ],
        stdout=log,
        stderr=log,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )
    url = f"http://127.0.0.1:{http_port}"
    try:
        deadline = time.monotonic() + 120  # generous: the machine is shared and slow
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(url + "/api/registry", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise AssertionError(f"hexmesh serve did not start; see {log.name}")
        yield ServedNode(url, sql_port, home)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
