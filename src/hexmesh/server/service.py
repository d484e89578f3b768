"""Long-running network services of a node, started and stopped together.

``hexmesh serve`` builds a list of services (HTTP here, the SQL port from
:meth:`hexmesh.serving.Node.sql_service`) and runs them until one stops or the process is interrupted.
"""

from __future__ import annotations

import asyncio

import uvicorn
from fastapi import FastAPI

from hexmesh.serving import Service

__all__ = ["Service", "http_service", "run_services"]


def http_service(app: FastAPI, host: str, port: int, *, log_level: str = "info") -> Service:
    async def serve(stop: asyncio.Event) -> None:
        # The CLI owns signals: uvicorn is told to stop through ``should_exit``.
        config = uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="on")
        server = uvicorn.Server(config)
        watcher = asyncio.create_task(_stop_when(stop, server))
        try:
            await server.serve()
        finally:
            watcher.cancel()

    return serve


async def _stop_when(stop: asyncio.Event, server: uvicorn.Server) -> None:
    await stop.wait()
    server.should_exit = True


async def run_services(services: list[Service], stop: asyncio.Event | None = None) -> None:
    """Run every service; when one ends (or ``stop`` is set), stop the others."""
    stop = stop or asyncio.Event()
    tasks = [asyncio.create_task(service(stop)) for service in services]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
