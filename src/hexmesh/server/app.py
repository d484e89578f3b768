"""The FastAPI application of a node: routers per port, problem+json errors, the emitter's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

import hexmesh
from hexmesh.server import apidocs, bodies, deprecation, problems
from hexmesh.server.routes import access_requests, control, deploy, discovery, events, files, ingest, observability
from hexmesh.serving import uploads
from hexmesh.serving.node import Node
from hexmesh.serving.prometheus import NodeCollector

__all__ = ["create_app"]

_DESCRIPTION = """
A hexmesh node: every deployed data product, with its ports over HTTP.

* **discovery**: `GET /` lists the products; `GET /products/{domain}/{name}` describes one (DCAT 3, JSON-LD).
* **files**: snapshots, and data as Parquet, JSON lines, CSV or Arrow IPC for (as_of, since, until, columns, filter).
* **events**: CloudEvents over Server-Sent Events and WebSocket, resumable.
* **observability**: SLO status with history, and Prometheus `/metrics`.
* **access**: access requests and owners' decisions (nodes served with `--auth`; bearer token).
* **control**: runs, pause/resume, policies, lifecycle, audit (bearer token).
* **ingest**: `POST /products/{domain}/{name}/ingest/{input}` stores JSON events for the next run.

Errors are RFC 9457 problem documents (`application/problem+json`).
"""


def create_app(node: Node) -> FastAPI:
    """The HTTP surface of ``node``; the emitter runs while the app is being served."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await node.start()
        try:
            yield
        finally:
            await node.stop()

    app = FastAPI(
        title="hexmesh node",
        version=hexmesh.__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by hexmesh.server.apidocs, without a CDN
        redoc_url=None,  # ReDoc only loads from a CDN: offline it would be a blank page
    )
    app.state.node = node
    registry = CollectorRegistry()
    registry.register(NodeCollector(node))
    app.state.registry = registry
    problems.install(app)
    deprecation.install(app, node)
    app.include_router(apidocs.router)
    for module in (discovery, files, events, observability, control, access_requests, ingest, deploy):
        app.include_router(module.router)
    app.include_router(__import__("hexmesh.server.routes.mesh", fromlist=["router"]).router)
    # Outermost: a body over its route's limit is refused before any route or middleware reads it.
    limits = {r"^/products/[^/]+/[^/]+/ingest/": ingest.MAX_BODY_BYTES, r"^/deploy$": uploads.MAX_UPLOAD_BYTES}
    app.add_middleware(bodies.BodyLimit, limits=limits)
    app.openapi = lambda: problems.document(app)  # type: ignore[method-assign]
    return app
