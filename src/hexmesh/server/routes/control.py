"""The control port: privileged actions with an owner or governance token, all audited."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from hexmesh.errors import HexmeshError
from hexmesh.lifecycle import RunResult
from hexmesh.server.deps import Domain, Name, NodeDep
from hexmesh.server.problems import responses
from hexmesh.serving import control
from hexmesh.serving.discovery import control_document
from hexmesh.serving.node import Node

router = APIRouter(prefix="/products/{domain}/{name}/control", tags=["control"])
_bearer = HTTPBearer(
    auto_error=False,
    description="An API token (hxm_…) of a principal allowed to control the product, or an operator token.",
)
Token = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
_ERRORS = responses(401, 403, 404, 409)


class Policies(BaseModel):
    access: list[dict[str, Any]] = []
    privacy: list[dict[str, Any]] = []


class Transition(BaseModel):
    to: Literal["proposed", "draft", "active", "deprecated", "retired"]
    sunset: date | None = Field(default=None, description="Deprecation: the day it stops serving.")
    successor: str | None = Field(
        default=None, description="Deprecation: the address consumers move to (dp://…).", max_length=300
    )
    force: bool = Field(default=False, description="Retirement: even while consumers still read it.")


def _secret(token: Token) -> str | None:
    return token.credentials if token else None


def _run(result: RunResult) -> dict[str, Any]:
    """A run's outcome as the control port answers it."""
    return result.as_dict()


def _act(node: Node, token: Token, domain: str, name: str, action: str, detail: Any = None) -> tuple[str, str]:
    """(product key, who acts): an API token whose principal may control it, or an operator token."""
    product = node.product(domain, name)
    return product.key, control.acting(node, _secret(token), product, action, detail)


@router.get("", responses=_ERRORS, summary="What the control port offers, and the product's control state")
def control_port(domain: Domain, name: Name, node: NodeDep, token: Token) -> dict[str, Any]:
    """The link the discovery document's ``hexmesh:control`` names: for those who may control the product."""
    key, who = _act(node, token, domain, name, "read-policies")
    node.audit.record(who, key, "read-control", "ok")
    return control_document(node, key)


@router.post("/runs", responses=_ERRORS)
def trigger_run(
    domain: Domain,
    name: Name,
    node: NodeDep,
    token: Token,
    full_refresh: Annotated[
        bool,
        Query(description="Recompute every port from all input and publish it as a new snapshot (history stays)."),
    ] = False,
) -> dict[str, Any]:
    """Run the product now (waits for the run); refused while the product is paused."""
    result = control.run_now(node, domain, name, _secret(token), full_refresh=full_refresh)
    return _run(result)


class Window(BaseModel):
    since: datetime = Field(description="Event time from (inclusive): a date or an ISO 8601 time; UTC if no offset.")
    until: datetime = Field(description="Event time until (exclusive); after since.")


@router.post("/backfill", responses=responses(400, 401, 403, 404, 409))
def backfill(domain: Domain, name: Name, window: Window, node: NodeDep, token: Token) -> dict[str, Any]:
    """Recompute the event-time window ``[since, until)`` from all input and publish it as a new snapshot.

    As ``hexmesh backfill``: rows outside the window stay as published, earlier snapshots answer as
    they did. Refused while the product is paused or running (409), and for a window whose since is
    not before its until or a port without an event time (400).
    """
    result = control.backfill(node, domain, name, _secret(token), window.since, window.until)
    return _run(result)


@router.post("/pause", responses=_ERRORS)
def pause(domain: Domain, name: Name, node: NodeDep, token: Token) -> dict[str, Any]:
    """Refuse runs from the control port until resumed."""
    return {"product": control.set_paused(node, domain, name, _secret(token), True), "paused": True}


@router.post("/resume", responses=_ERRORS)
def resume(domain: Domain, name: Name, node: NodeDep, token: Token) -> dict[str, Any]:
    """Accept runs again."""
    return {"product": control.set_paused(node, domain, name, _secret(token), False), "paused": False}


@router.get("/policies", responses=_ERRORS)
def get_policies(domain: Domain, name: Name, node: NodeDep, token: Token) -> dict[str, Any]:
    """The policies every port enforces now: a revision set here (``source: control``) or the spec's.

    ``revision`` 0 is the deployed spec's; the history is at ``…/control/policies/revisions``.
    """
    key, who = _act(node, token, domain, name, "read-policies")
    node.audit.record(who, key, "read-policies", "ok")
    return node.workspace.stewardship.policies(key).as_dict()


@router.put("/policies", responses=responses(401, 403, 404, 409, 422))
def put_policies(domain: Domain, name: Name, policies: Policies, node: NodeDep, token: Token) -> dict[str, Any]:
    """Replace the product's policies (its owners only): validated and checked against the mesh's rules,
    stored as a new revision, and in force on every port (SQL, files, events, discovery, client) from the
    next request. A deploy whose spec changes the policies brings the spec's back."""
    body = policies.model_dump(by_alias=True)
    key, who = _act(node, token, domain, name, "replace-policies", body)
    try:
        in_force = node.workspace.stewardship.replace_policies(key, body, who)
    except HexmeshError as exc:
        node.audit.record(who, key, "replace-policies", "refused", str(exc))
        raise
    node.audit.record(who, key, "replace-policies", "ok", {"revision": in_force.revision, "policies": body})
    return in_force.as_dict()


class Rollback(BaseModel):
    revision: int = Field(ge=0, description="The revision to put back in force; 0 is the deployed spec's policies.")


@router.post("/policies/rollback", responses=responses(401, 403, 404, 409, 422))
def rollback(domain: Domain, name: Name, body: Rollback, node: NodeDep, token: Token) -> dict[str, Any]:
    """Put an earlier revision of the policies back in force (as a new revision: history never changes)."""
    key, who = _act(node, token, domain, name, "rollback-policies", {"to": body.revision})
    try:
        in_force = node.workspace.stewardship.rollback_policies(key, body.revision, who)
    except HexmeshError as exc:
        node.audit.record(who, key, "rollback-policies", "refused", str(exc))
        raise
    node.audit.record(who, key, "rollback-policies", "ok", {"to": body.revision, "revision": in_force.revision})
    return in_force.as_dict()


@router.get("/policies/revisions", responses=_ERRORS)
def revisions(domain: Domain, name: Name, node: NodeDep, token: Token) -> list[dict[str, Any]]:
    """Every revision of the product's policies, oldest first: who set what, when (null: the spec's)."""
    key, who = _act(node, token, domain, name, "read-policies")
    node.audit.record(who, key, "read-policies", "ok", {"revisions": True})
    return [
        {
            "revision": r.revision,
            "action": r.action,
            "actor": r.actor,
            "time": datetime.fromtimestamp(r.created_us / 1e6, UTC).isoformat(),
            "policies": r.policies,
        }
        for r in node.workspace.stewardship.policy_history(key)
    ]


@router.post("/lifecycle", responses=_ERRORS)
def lifecycle(domain: Domain, name: Name, body: Transition, node: NodeDep, token: Token) -> dict[str, Any]:
    """Move the product along its lifecycle (draft → active → deprecated → retired)."""
    key, state = control.transition(
        node, domain, name, _secret(token), body.to, sunset=body.sunset, successor=body.successor, force=body.force
    )
    return {"product": key, "lifecycle": state}


@router.get(
    "/audit",
    responses={
        **_ERRORS,
        200: {
            "content": {"application/json": {}, **{m: {} for m in control.FORMATS.values()}},
            "description": "The entries, oldest first",
        },
    },
)
def audit(
    domain: Domain,
    name: Name,
    node: NodeDep,
    token: Token,
    limit: Annotated[int, Query(ge=1, le=100_000, description="The newest entries to return.")] = 100,
    format: Annotated[
        Literal["json", "parquet", "csv", "jsonl", "arrow"],
        Query(description="json (a list), or a table: parquet, csv, jsonl, arrow."),
    ] = "json",
) -> Any:
    """The product's audit log, oldest first: every access decision on its ports and every control action.

    The same hash-chained log ``hexmesh audit`` reads; ask for ``format=parquet`` (or csv, jsonl,
    arrow) to query it as a table (pandas, DuckDB, a spreadsheet).
    """
    found = control.audit_log(node, domain, name, _secret(token), limit, format)
    if isinstance(found, bytes):
        return Response(found, media_type=control.FORMATS[format])
    return found


# -- the mesh's rule set ---------------------------------------------------------------------------

_mesh = APIRouter(prefix="/control", tags=["control"])


@_mesh.put("/rules", responses=responses(400, 401, 403))
def put_rules(
    node: NodeDep,
    token: Token,
    body: Annotated[str, Body(media_type="application/yaml", description="The mesh rule set (rules.yaml).")],
) -> dict[str, Any]:
    """Accept a new mesh rule set (a governance principal's token): store it as a new revision, re-check every product.

    Products that fail it keep serving; their discovery documents show the revision they failed.
    """
    return control.replace_rules(node, _secret(token), body)


# The mesh-wide route lives beside the per-product ones; its path is already complete.
router.routes.extend(_mesh.routes)
