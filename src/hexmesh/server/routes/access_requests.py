"""Access requests over HTTP (nodes served with ``--auth``): a consumer asks, an owner decides."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from hexmesh.governance.grants import AccessRequest
from hexmesh.server.deps import Caller, Domain, Name, NodeDep, PortName
from hexmesh.server.problems import responses
from hexmesh.serving import governed

router = APIRouter(tags=["access"])
_ERRORS = responses(401, 403, 404, 409, 422)


class AskBody(BaseModel):
    purpose: str = Field(
        description="Why you need the data; grants are bound to it.", min_length=1, max_length=2000, pattern=r"\S"
    )
    note: str = ""


class DecisionBody(BaseModel):
    verdict: Literal["approve", "deny", "revoke"]
    note: str = ""
    duration: int = Field(90, ge=1, le=366, description="Days an approval lasts.")
    shape: str | None = Field(
        None,
        description="The policy shape an approval grants: the id of one of the product's read rules for the "
        "port (its columns and rows); default: every column but the restricted ones.",
    )


def _view(found: AccessRequest) -> dict[str, Any]:
    return {
        "id": found.id,
        "principal": found.principal.key,
        "product": found.product,
        "port": found.port,
        "purpose": found.purpose,
        "status": found.status,
        "expires_us": found.expires_us,
        "shape": found.shape,
    }


@router.post("/products/{domain}/{name}/ports/{port}/access-requests", status_code=201, responses=_ERRORS)
def ask(domain: Domain, name: Name, port: PortName, body: AskBody, node: NodeDep, caller: Caller) -> dict[str, Any]:
    """Ask the owner for read access to a port for a purpose (needs a token)."""
    key = node.product(domain, name).key
    return _view(governed.ask(node, caller, key, port, body.purpose, body.note))


@router.post("/access-requests/{request_id}/decision", responses=_ERRORS)
def decide(request_id: str, body: DecisionBody, node: NodeDep, caller: Caller) -> dict[str, Any]:
    """Approve, deny (with a note) or revoke a request; only principals with control may."""
    return _view(governed.decide(node, caller, request_id, body.verdict, body.note, body.duration, body.shape))
