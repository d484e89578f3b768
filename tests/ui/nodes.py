"""A real node for UI tests: uvicorn and (when it exists) the SQL port, in a background thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from hexmesh.lifecycle import Workspace
from hexmesh.server import Node, NodeOptions, Service, create_app, http_service, run_services
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
def thread_node(home: Path, *, sql: bool = True) -> Iterator[ThreadNode]:
    """Serve ``home`` over HTTP (and SQL) until the block ends; wait until it answers."""
    http_port, sql_port = free_port(), free_port()
    url = f"http://127.0.0.1:{http_port}"
    dsn = f"postgresql://analyst@127.0.0.1:{sql_port}/mesh?sslmode=disable" if sql else None
    workspace = Workspace.open(home)
    node = Node(workspace, NodeOptions(base_url=url, sql_dsn=dsn))
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
        for _ in range(300):
            try:
                if httpx.get(url + "/api/registry", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                threading.Event().wait(0.1)
        yield ThreadNode(url, dsn, workspace)
    finally:
        if stop:
            loop.call_soon_threadsafe(stop[0].set)
        thread.join(timeout=20)
        loop.close()
        workspace.close()
