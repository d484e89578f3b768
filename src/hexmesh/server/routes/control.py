"""The control port: privileged actions with an owner or governance token, all audited."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

import pyarrow.compute as pc
from fastapi import APIRouter, Body, Depends, Query, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from hexmesh.errors import HexmeshError
from hexmesh.product import files as port_files
from hexmesh.product.control import TRANSITIONS, PausedError
from hexmesh.server.acting import acting
from hexmesh.server.deps import Domain, Name, NodeDep
from hexmesh.server.problems import responses
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


def _act(node: Node, token: Token, domain: str, name: str, action: str, detail: Any = None) -> tuple[str, str]:
    """(product key, who acts): an API token whose principal may control it, or an operator token."""
    product = node.product(domain, name)
    return product.key, acting(node, token.credentials if token else None, product, action, detail)


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
    action = "full-refresh" if full_refresh else "run"
    key, who = _act(node, token, domain, name, action)
    if node.control.paused(key):
        node.audit.record(who, key, action, "refused", "paused")
        raise PausedError(f"{key} is paused; resume it first (POST .../control/resume)")
    try:
        result = node.workspace.run(
            key,
            trigger=f"control:{who}",
            full_refresh=full_refresh,
            reason=f"{action} requested on the control port by {who}",
        )
    except HexmeshError as exc:
        node.audit.record(who, key, action, "failed", str(exc))
        raise
    node.audit.record(who, key, action, "ok", {"run_id": result.run_id, "status": result.status})
    return {
        "run_id": result.run_id,
        "status": result.status,
        "rows": result.rows,
        "snapshots": {k: str(v) for k, v in result.snapshots.items()},
        "message": result.message,
    }


@router.post("/pause", responses=_ERRORS)
def pause(domain: Domain, name: Name, node: NodeDep, token: Token) -> dict[str, Any]:
    """Refuse runs from the control port until resumed."""
    key, who = _act(node, token, domain, name, "pause")
    node.control.update(key, paused=True)
    node.audit.record(who, key, "pause", "ok")
    return {"product": key, "paused": True}


@router.post("/resume", responses=_ERRORS)
def resume(domain: Domain, name: Name, node: NodeDep, token: Token) -> dict[str, Any]:
    """Accept runs again."""
    key, who = _act(node, token, domain, name, "resume")
    node.control.update(key, paused=False)
    node.audit.record(who, key, "resume", "ok")
    return {"product": key, "paused": False}


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
    key, who = _act(node, token, domain, name, "lifecycle", body.to)
    declared = node.product(domain, name).spec.status
    try:
        # Deprecation and retirement are the lifecycle plane's: consumers are notified and retired
        # versions stop serving on every port (as with `hexmesh deprecate` / `hexmesh retire`).
        if body.to in TRANSITIONS.get(node.control.lifecycle(key, declared), ()):
            if body.to == "deprecated":
                node.workspace.deprecate(key, sunset=body.sunset or _in_days(90), successor=body.successor)
            elif body.to == "retired":
                major = node.product(domain, name).record.major
                node.workspace.retire(f"{key}@{major}", force=body.force)
        state = node.control.transition(key, declared, body.to)
    except HexmeshError as exc:
        node.audit.record(who, key, "lifecycle", "refused", str(exc))
        raise
    node.audit.record(who, key, "lifecycle", "ok", state)
    return {"product": key, "lifecycle": state}


def _in_days(days: int) -> date:
    return date.today() + timedelta(days=days)


@router.get(
    "/audit",
    responses={
        **_ERRORS,
        200: {
            "content": {"application/json": {}, **{m: {} for m in port_files.FORMATS.values()}},
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
    key, who = _act(node, token, domain, name, "read-audit")
    node.audit.record(who, key, "read-audit", "ok", {"format": format, "limit": limit})
    if format == "json":
        return node.audit.entries(key, limit)
    table = node.audit.table(key, limit)
    if format == "csv":  # CSV has no lists: the deciding policies as one space-separated cell
        ids = table.schema.get_field_index("policy_ids")
        table = table.set_column(ids, "policy_ids", pc.binary_join(table["policy_ids"], " "))
    body = b"".join(port_files.encode(format, table.schema, iter(table.to_batches())))
    return Response(body, media_type=port_files.FORMATS[format])


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
    who = acting(node, token.credentials if token else None, None, "replace-rules")
    try:
        change = node.workspace.stewardship.accept_rules(body, who)
    except HexmeshError as exc:
        node.audit.record(who, "mesh", "replace-rules", "refused", str(exc))
        raise
    result = {
        "revision": change.revision,
        "ruleset": change.ruleset,
        "digest": change.digest,
        "created": change.created,
        "products": [v.__dict__ for v in change.products],
    }
    node.audit.record(who, "mesh", "replace-rules", "ok", result)
    return result


# The mesh-wide route lives beside the per-product ones; its path is already complete.
router.routes.extend(_mesh.routes)
