"""The control port as a node serves it: each privileged action decided, done and audited.

Who may act is the node's :class:`~hexmesh.product.authority.Authority` (ADR 0019): an API token
whose principal controls the product or holds a role allowed the action, or a clear-text operator
token until it is migrated. Refusals are audited by the authority before they are raised (401, 403);
what was done is audited here, with its outcome. The HTTP routes parse and render (the
policies' revisions go through :class:`~hexmesh.lifecycle.Stewardship`).
"""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from typing import Any

import pyarrow.compute as pc

from hexmesh.errors import HexmeshError, NotFoundError
from hexmesh.lifecycle import DeployOutcome, RuleWarning, RunResult
from hexmesh.product import DeployedProduct
from hexmesh.product import files as port_files
from hexmesh.product.control import TRANSITIONS, PausedError, UnauthorizedError
from hexmesh.serving.governed import AuthOffError
from hexmesh.serving.node import Node
from hexmesh.serving.uploads import unpack

__all__ = [
    "FORMATS",
    "acting",
    "audit_log",
    "backfill",
    "deploy_upload",
    "replace_rules",
    "run_now",
    "set_paused",
    "transition",
]

#: Media type of each table format of the audit log.
FORMATS = port_files.FORMATS


def acting(node: Node, secret: str | None, product: DeployedProduct | None, action: str, detail: Any = None) -> str:
    """The name of who may do ``action`` on ``product`` (None: the mesh) with ``secret``, as the audit log names it."""
    return node.authority.authorize(secret, action, product, detail=detail).name


def _act(node: Node, secret: str | None, domain: str, name: str, action: str, detail: Any = None) -> tuple[str, str]:
    """(product key, who acts); a caller without a token learns nothing, not even that a product is gone."""
    try:
        product = node.product(domain, name)
    except NotFoundError:
        node.authority.authenticate(secret, action, f"{domain}/{name}")  # a 401 first, if it is one
        raise
    return product.key, acting(node, secret, product, action, detail)


def run_now(node: Node, domain: str, name: str, secret: str | None, *, full_refresh: bool = False) -> RunResult:
    """Run the product (the major its path names) now and wait; PausedError (409) while it is paused."""
    action = "full-refresh" if full_refresh else "run"
    key, who = _act(node, secret, domain, name, action)
    major = node.product(domain, name).record.major  # /products/d/p@1/control/runs runs major 1
    _refuse_while_paused(node, key, who, action)
    try:
        result = node.workspace.run(
            key,
            major=major,
            trigger=f"control:{who}",
            full_refresh=full_refresh,
            reason=f"{action} requested on the control port by {who}",
        )
    except HexmeshError as exc:
        node.audit.record(who, key, action, "failed", str(exc))
        raise
    node.audit.record(who, key, action, "ok", {"run_id": result.run_id, "status": result.status})
    return result


def backfill(
    node: Node, domain: str, name: str, secret: str | None, since: date | datetime, until: date | datetime
) -> RunResult:
    """Recompute the event-time window ``[since, until)`` of the major its path names, as ``hexmesh backfill``.

    The same authority and refusals as a run: PausedError (409) while paused, ConcurrentRunError
    (409) while a run holds the product, ReadError (400) for a window that is not ordered or a port
    without an event time. Audited as ``control.backfill`` with the window, whatever the outcome.
    """
    window = {"since": since.isoformat(), "until": until.isoformat()}
    key, who = _act(node, secret, domain, name, "backfill", window)
    major = node.product(domain, name).record.major
    _refuse_while_paused(node, key, who, "backfill")
    try:
        result = node.workspace.backfill(
            f"{key}@{major}",
            since=since,
            until=until,
            reason=f"backfill of [{window['since']}, {window['until']}) requested on the control port by {who}",
        )
    except HexmeshError as exc:
        node.audit.record(who, key, "backfill", "failed", {**window, "error": str(exc)})
        raise
    node.audit.record(who, key, "backfill", "ok", {**window, "run_id": result.run_id, "status": result.status})
    return result


def _refuse_while_paused(node: Node, key: str, who: str, action: str) -> None:
    if node.control.paused(key):
        node.audit.record(who, key, action, "refused", "paused")
        raise PausedError(f"{key} is paused; resume it first (POST .../control/resume)")


def set_paused(node: Node, domain: str, name: str, secret: str | None, paused: bool) -> str:
    """Refuse (or accept again) runs from the control port; the product's key."""
    action = "pause" if paused else "resume"
    key, who = _act(node, secret, domain, name, action)
    node.control.update(key, paused=paused)
    node.audit.record(who, key, action, "ok")
    return key


def transition(
    node: Node,
    domain: str,
    name: str,
    secret: str | None,
    to: str,
    *,
    sunset: date | None = None,
    successor: str | None = None,
    force: bool = False,
) -> tuple[str, str]:
    """Move the product along its lifecycle; (its key, the state it is in now)."""
    key, who = _act(node, secret, domain, name, "lifecycle", to)
    declared = node.product(domain, name).spec.status
    try:
        # Deprecation and retirement are the lifecycle plane's: consumers are notified and retired
        # versions stop serving on every port (as with `hexmesh deprecate` / `hexmesh retire`).
        if to in TRANSITIONS.get(node.control.lifecycle(key, declared), ()):
            if to == "deprecated":
                node.workspace.deprecate(key, sunset=sunset or date.today() + timedelta(days=90), successor=successor)
            elif to == "retired":
                major = node.product(domain, name).record.major
                node.workspace.retire(f"{key}@{major}", force=force)
        state = node.control.transition(key, declared, to)
    except HexmeshError as exc:
        node.audit.record(who, key, "lifecycle", "refused", str(exc))
        raise
    node.audit.record(who, key, "lifecycle", "ok", state)
    return key, state


def audit_log(node: Node, domain: str, name: str, secret: str | None, limit: int, fmt: str) -> list[Any] | bytes:
    """The product's newest ``limit`` audit entries, oldest first: a list (``json``) or a table in ``fmt``."""
    key, who = _act(node, secret, domain, name, "read-audit")
    node.audit.record(who, key, "read-audit", "ok", {"format": fmt, "limit": limit})
    if fmt == "json":
        return list(node.audit.entries(key, limit))
    table = node.audit.table(key, limit)
    if fmt == "csv":  # CSV has no lists: the deciding policies as one space-separated cell
        ids = table.schema.get_field_index("policy_ids")
        table = table.set_column(ids, "policy_ids", pc.binary_join(table["policy_ids"], " "))
    return b"".join(port_files.encode(fmt, table.schema, iter(table.to_batches())))


def replace_rules(node: Node, secret: str | None, text: str) -> dict[str, Any]:
    """Accept a new mesh rule set (a governance principal's token): a new revision, every product re-checked."""
    who = acting(node, secret, None, "replace-rules")
    try:
        change = node.workspace.stewardship.accept_rules(text, who)
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


def deploy_upload(node: Node, secret: str | None, body: bytes) -> tuple[list[DeployOutcome], list[RuleWarning]]:
    """Deploy the product folder(s) sent as a tar archive, with the token of every product's owner.

    The same checks as ``hexmesh deploy`` (validation, rules, grants of the inputs, all or nothing),
    audited as ``control.deploy``; never on a node without auth, where anyone could send code, and
    never as the workspace's root (a token is required). The unpacked folder stays as the products'
    origin when a version is deployed from it, and is removed otherwise (refused, or all unchanged).
    """
    if node.sidecar is None:
        raise AuthOffError(
            "this node serves with --no-auth, so anyone could deploy code to it over HTTP; deploy with "
            "`hexmesh deploy` on the node, or serve with auth and send an owner's token"
        )
    if not secret:
        raise UnauthorizedError(
            "deploying over HTTP needs an API token of the products' owner: send Authorization: Bearer <token> "
            "(hexmesh token create <owner>)"
        )
    folder = unpack(body, node.workspace.settings.home)
    try:
        warnings = node.workspace.rule_warnings(node.workspace.validate([folder]))
        outcomes = node.workspace.deploy([folder], token=secret, authorize=True)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if not any(o.changed for o in outcomes):  # all deployed before, from their own folders: this one is unused
        shutil.rmtree(folder, ignore_errors=True)
    return outcomes, warnings
