"""Who administers from the command line: the workspace's root, else the principal of ``--token``.

The decision is :class:`~hexmesh.product.authority.Authority`'s, as on the node's control port;
every command that administers records what it did in the audit log (refusals are recorded by the
authority itself).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from hexmesh.cli import common
from hexmesh.infra.state import now_us, tokens
from hexmesh.product import DeployedProduct
from hexmesh.product.authority import Actor, Authority, workspace_root
from hexmesh.product.control import AuditLog, Tokens
from hexmesh.product.policy import PolicySidecar

__all__ = ["administer", "record"]


def administer(home: Path | None, token: str | None, action: str, product: str | None = None) -> tuple[Actor, Engine]:
    """Who does ``action`` (on ``product``, else the mesh), and the state database to record it in.

    The workspace's root acts as itself (it could open the state store anyway); anyone else acts
    with ``--token``. A shared state store that has no operator yet lets its first operator token
    be made (``hexmesh token create … --role operator``), recorded as ``bootstrap``.

    Raises:
        UnauthorizedError / ForbiddenError: neither the root nor a token allowed to (audited).
    """
    workspace = common.workspace(home)
    sidecar = PolicySidecar(workspace.runtime)
    authority = Authority(sidecar, Tokens.load(workspace.settings), AuditLog(sidecar.db))
    root = workspace_root(workspace.settings)
    if root is None and action == "tokens" and not _operators(sidecar.db):
        root = Actor("bootstrap")
    deployed = DeployedProduct.load(workspace.runtime, product) if product is not None else None
    return authority.authorize(None if root else token, action, deployed, root=root), sidecar.db


def record(db: Engine, actor: Actor, action: str, resource: str, detail: Any, *, decision: str = "ok") -> None:
    """Append what an administrative command did (``resource``: a product key, or ``mesh``)."""
    AuditLog(db).record(actor.name, resource, action, decision, detail)


def _operators(db: Engine) -> list[tokens.TokenInfo]:
    now = now_us()
    return [t for t in tokens.list_tokens(db) if t.principal.has_role("operator") and t.active(now)]
