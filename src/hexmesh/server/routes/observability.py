"""The observability port: SLO status with history and shape, and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from hexmesh.governance import AuthenticationError
from hexmesh.server.deps import Caller, Domain, Name, NodeDep
from hexmesh.server.problems import responses
from hexmesh.serving import disclosure
from hexmesh.serving.observability import observability_report
from hexmesh.serving.prometheus import NodeCollector

router = APIRouter(tags=["observability"])


@router.get("/products/{domain}/{name}/observability", responses=responses(401, 404))
def observability(domain: Domain, name: Name, node: NodeDep, caller: Caller) -> dict[str, Any]:
    """Per port: freshness, timeliness, completeness, volume, schema, shape and drift.

    With policies enforced, callers see the ports they may discover; row counts and column
    statistics only where they read every row (column statistics: the columns they read in clear).
    """
    return observability_report(node, domain, name, caller)


@router.get("/healthz", summary="Liveness: the node answers (no I/O, for probes and load balancers)")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}, **responses(401)},
)
def metrics(request: Request, node: NodeDep, caller: Caller) -> Response:
    """Prometheus metrics of every port of the node.

    With policies enforced the scraper needs an API token (Prometheus: ``authorization:
    {credentials: hxm_…}``) and sees the products its principal runs (``control``).
    """
    if node.sidecar is None:  # the node's own registry (HTTP metrics too): every product is the caller's
        return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)
    if not caller.authenticated:
        raise AuthenticationError(
            "metrics need an API token: a principal that runs the products (Authorization: Bearer hxm_…)"
        )
    registry = CollectorRegistry()
    registry.register(NodeCollector(node, shown=lambda product: disclosure.may_control(node, caller, product)))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
