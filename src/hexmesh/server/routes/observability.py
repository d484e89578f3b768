"""The observability port: SLO status with history and shape, and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hexmesh.product import OutputPortReader
from hexmesh.product.observability import port_health, worst
from hexmesh.server.deps import Domain, Name, NodeDep
from hexmesh.server.problems import responses

router = APIRouter(tags=["observability"])


@router.get("/products/{domain}/{name}/observability", responses=responses(404))
def observability(domain: Domain, name: Name, node: NodeDep) -> dict[str, Any]:
    """Per port: freshness, timeliness, completeness, volume, schema, shape and drift."""
    product = node.product(domain, name)
    ports = [
        port_health(OutputPortReader(node.runtime, product, p.name)).as_dict()
        for p in product.spec.output_ports
    ]
    return {
        "product": f"dp://{product.key}",
        "status": worst([p["status"] for p in ports]),
        "paused": node.control.paused(product.key),
        "ports": ports,
        "runs": [
            {"id": r.id, "status": r.status, "trigger": r.trigger, "error": r.error}
            for r in node.runtime.state.runs(product.key, limit=10)
        ],
    }


@router.get("/healthz", summary="Liveness: the node answers (no I/O, for probes and load balancers)")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
def metrics(request: Request) -> Response:
    """Prometheus metrics of every port of the node."""
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)
