"""``POST /deploy``: deploy product folders over HTTP, as ``hexmesh deploy`` does, with an owner's token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from hexmesh.server.deps import NodeDep
from hexmesh.server.problems import responses
from hexmesh.server.routes.control import Token
from hexmesh.serving import control

router = APIRouter(tags=["control"])


@router.post(
    "/deploy",
    responses=responses(400, 401, 403, 409, 413, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The product folder (or a mesh folder) as a tar archive, gzip or not "
            "(sent as application/gzip, application/x-tar or application/octet-stream: the bytes decide).",
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def deploy(request: Request, node: NodeDep, token: Token) -> dict[str, Any]:
    """Validate and deploy the folder sent, all or nothing; needs an API token of every product's owner.

    ``tar -czf - -C shop . | curl --fail --data-binary @- -H "Authorization: Bearer $HEXMESH_TOKEN"
    -H 'Content-Type: application/gzip' http://node:8080/deploy``
    """
    body = await request.body()
    secret = token.credentials if token else None
    outcomes, warnings = await run_in_threadpool(control.deploy_upload, node, secret, body)
    return {
        "deployed": [
            {"product": o.product, "version": o.version, "changed": o.changed, "message": o.message} for o in outcomes
        ],
        "warnings": [
            {"rule": w.rule, "message": w.message, "where": w.where, "line": w.location.line} for w in warnings
        ],
    }
