"""Who may administer a node, a product and the mesh, and the audit of every attempt.

Three kinds of actor, one decision (docs/adr/0019):

- an **owner** — a principal the product's policies let ``control`` it (its owner by the built-in
  policy) — runs its product: runs, pause, lifecycle, backfill, retire, its policies, its audit log;
- an **operator** or **governance** principal — an API token whose principal holds that role
  (``hexmesh token create ops --kind ServiceAccount --role operator``) — administers the node or
  the mesh (:data:`ROLE_ACTIONS`). A role is never a permission on data: an operator who forgets
  a subject or retires a major reads no row it is not granted;
- the workspace's **root** — the operating-system user who owns a workspace whose state store is
  its own file (SQLite): it can open the state and the master key anyway, so the CLI lets it act
  without a token (and records it by name). A workspace on shared state (PostgreSQL) has no root:
  every administrative command there needs a token.

Operator tokens in clear text (``<home>/tokens.yaml``, ``HEXMESH_TOKENS``) still act, as before,
until ``hexmesh token migrate`` replaces them by API tokens. Every attempt is audited: refusals
here, successes by the caller once the action is done (with its outcome).
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hexmesh.errors import NotFoundError
from hexmesh.governance import AuthenticationError, Principal, Role
from hexmesh.infra.settings import Settings
from hexmesh.product.control import AuditLog, ForbiddenError, Tokens, UnauthorizedError
from hexmesh.product.deployed import DeployedProduct
from hexmesh.product.policy import PolicySidecar
from hexmesh.spec import DataProductSpec

__all__ = ["OWNER_ACTIONS", "ROLE_ACTIONS", "Actor", "Authority", "process_actor", "workspace_root"]

#: What a principal allowed ``control`` of a product may do to it.
OWNER_ACTIONS = frozenset(
    {
        "run",
        "full-refresh",
        "pause",
        "resume",
        "lifecycle",
        "ingest",
        "deprecate",
        "retire",
        "backfill",
        "read-audit",
        "read-policies",
        "replace-policies",
        "rollback-policies",
    }
)
#: What each platform role may do, on every product and on the mesh. Changing who may read a
#: product's data (its policies) is its owners' alone.
ROLE_ACTIONS: dict[Role, frozenset[str]] = {
    "operator": (OWNER_ACTIONS - {"replace-policies", "rollback-policies"}) | {"forget", "tokens", "announce-peer"},
    "governance": frozenset({"replace-rules", "read-audit", "read-policies", "announce-peer"}),
}
_LEGACY_ROLES: dict[str, frozenset[Role]] = {"governance": frozenset({"operator", "governance"})}
#: How messages say an action (the audit log keeps its name).
_SAID = {
    "full-refresh": "fully refresh",
    "announce-peer": "announce a peer to",
    "replace-rules": "change the rule set of",
    "tokens": "administer the tokens of",
    "read-audit": "read the audit log of",
    "read-policies": "read the policies of",
    "replace-policies": "replace the policies of",
    "rollback-policies": "roll back the policies of",
}


@dataclass(frozen=True)
class Actor:
    """Who acts, as the audit log names them; ``principal`` is None for the root and clear-text tokens."""

    name: str
    principal: Principal | None = None


def workspace_root(settings: Settings) -> Actor | None:
    """The workspace's root when this process runs as it: the owner of a home whose state is its own file."""
    if not settings.state_url.startswith("sqlite"):
        return None  # shared state: several people and nodes, so every administrative act names a token
    try:
        owner = settings.home.stat().st_uid
    except FileNotFoundError:
        return None
    if not hasattr(os, "geteuid") or os.geteuid() != owner:
        return None
    return Actor(f"root:{getpass.getuser()}@{socket.gethostname()}")


def process_actor() -> Actor:
    """A program using the Python API with the state store's credentials (it could write the records anyway)."""
    return Actor(f"process:{getpass.getuser()}@{socket.gethostname()}")


class Authority:
    """Decides (and audits refusals of) every administrative action on a node or workspace."""

    def __init__(self, sidecar: PolicySidecar, legacy: Tokens, audit: AuditLog) -> None:
        self.sidecar = sidecar
        self.legacy = legacy
        self.audit = audit

    def authorize(
        self,
        credential: str | None,
        action: str,
        product: DeployedProduct | None = None,
        *,
        root: Actor | None = None,
        detail: Any = None,
    ) -> Actor:
        """Who does ``action`` (on ``product``, else the mesh) with ``credential``; a refusal is audited, then raised.

        ``root`` is the workspace's root (:func:`workspace_root`), for the CLI: it acts without a
        token. A token, when given, always decides (and names who acted).

        Raises:
            UnauthorizedError: no credential (and no root), or one that is not valid (401).
            ForbiddenError: a valid credential without the right (403).
        """
        resource = product.key if product is not None else "mesh"
        if not credential:
            if root is not None:
                return root
            self.audit.record("anonymous", resource, action, "refused", detail)
            raise UnauthorizedError(
                f"to {_said(action)} {_name(product)} needs a token: an API token of {self._who(action, product)} "
                "(Authorization: Bearer hxm_…, or --token / HEXMESH_TOKEN on the command line)"
            )
        if not credential.startswith("hxm_"):
            return self._legacy(credential, action, product, resource, detail)
        try:
            principal = self.sidecar.authenticate(credential)
        except AuthenticationError as exc:
            self.audit.record("unknown-token", resource, action, "refused", str(exc))
            raise UnauthorizedError(str(exc)) from None
        if self.may(principal, action, product):
            return Actor(principal.key, principal)
        self.audit.record(principal.key, resource, action, "refused", detail)
        raise ForbiddenError(
            f"{principal.key} may not {action} {_name(product)}: only {self._who(action, product)} may"
        )

    def authenticate(self, credential: str | None, action: str, resource: str) -> None:
        """Refuse (audited, 401) a missing or invalid credential; says nothing of its rights.

        For answers that would tell something of a product (that it is gone, retired) to a caller
        who has not shown who it is.
        """
        if not credential:
            self.audit.record("anonymous", resource, action, "refused", None)
            raise UnauthorizedError(f"to {_said(action)} {resource} needs a token (Authorization: Bearer hxm_…)")
        if not credential.startswith("hxm_"):
            if self.legacy.known(credential) is None:
                self.audit.record("unknown-token", resource, action, "refused", None)
                raise UnauthorizedError("the token is not valid; create one with `hexmesh token create`")
            return
        try:
            self.sidecar.authenticate(credential)
        except AuthenticationError as exc:
            self.audit.record("unknown-token", resource, action, "refused", str(exc))
            raise UnauthorizedError(str(exc)) from None

    def authorize_deploy(
        self, credential: str | None, specs: Sequence[DataProductSpec], *, root: Actor | None = None
    ) -> Actor:
        """Who deploys ``specs``: the workspace's root, or a token of **each** product's owner.

        A product reads its inputs as its owner team (docs/adr/0026), so deploying one is acting as
        that owner: the token's principal must be the owner (a user of that id, or a member of that
        group) and, for a product already deployed under another owner, control the deployed one too.
        Operators deploy nothing by their role. Refusals are audited, then raised.

        Raises:
            UnauthorizedError: no credential (and no root), or one that is not valid (401).
            ForbiddenError: a valid credential that is not the owner of every product (403).
        """
        keys = ", ".join(s.key for s in specs) or "mesh"
        detail = [f"{s.key} {s.version}" for s in specs]
        if not credential:
            if root is not None:
                return root
            for spec in specs:
                self.audit.record("anonymous", spec.key, "deploy", "refused", detail)
            raise UnauthorizedError(
                f"to deploy {keys} needs a token of each product's owner ("
                + ", ".join(sorted({s.owner for s in specs}))
                + "): --token / HEXMESH_TOKEN, or Authorization: Bearer hxm_…"
            )
        principal: Principal | None = None
        name = "unknown-token"
        if credential.startswith("hxm_"):
            try:
                principal = self.sidecar.authenticate(credential)
            except AuthenticationError as exc:
                self.audit.record(name, keys, "deploy", "refused", str(exc))
                raise UnauthorizedError(str(exc)) from None
            name = principal.key
        else:
            known = self.legacy.known(credential)
            if known is None:
                self.audit.record(name, keys, "deploy", "refused", detail)
                raise UnauthorizedError("the token is not valid; create one with `hexmesh token create`")
            name = known.name
        refused = [s for s in specs if not self._owns(principal, name, credential, s)]
        if refused:
            for spec in refused:
                self.audit.record(name, spec.key, "deploy", "refused", detail)
            raise ForbiddenError(
                f"{name} may not deploy "
                + "; ".join(f"{s.key} (owner {s.owner})" for s in refused)
                + ": a product is deployed with a token of its owner — a user of that id or a member of "
                "that group (and, if already deployed under another owner, one that controls it)"
            )
        return Actor(name, principal)

    def _owns(self, principal: Principal | None, name: str, credential: str, spec: DataProductSpec) -> bool:
        if principal is None:  # a clear-text token names the products it may act on
            known = self.legacy.known(credential)
            return known is not None and spec.key in known.products
        if not (principal.kind == "User" and principal.id == spec.owner) and spec.owner not in principal.groups:
            return False
        try:
            deployed = DeployedProduct.load(self.sidecar.runtime, spec.key)
        except NotFoundError:
            return True
        return deployed.spec.owner == spec.owner or self.sidecar.decider(deployed).decide(principal, "control").allowed

    def may(self, principal: Principal, action: str, product: DeployedProduct | None) -> bool:
        """Whether ``principal`` may do ``action`` on ``product`` (or on the mesh)."""
        if any(action in ROLE_ACTIONS[role] for role in principal.roles if role in ROLE_ACTIONS):
            return True
        if product is None or action not in OWNER_ACTIONS:
            return False
        return self.sidecar.decider(product).decide(principal, "control").allowed

    def _legacy(
        self, credential: str, action: str, product: DeployedProduct | None, resource: str, detail: Any
    ) -> Actor:
        known = self.legacy.known(credential)
        if known is None:
            self.audit.record("unknown-token", resource, action, "refused", detail)
            raise UnauthorizedError("the token is not valid; create one with `hexmesh token create`")
        roles = _LEGACY_ROLES.get(known.role, frozenset())
        if any(action in ROLE_ACTIONS[role] for role in roles):
            return Actor(known.name)
        if product is not None and action in OWNER_ACTIONS and product.key in known.products:
            return Actor(known.name)
        self.audit.record(known.name, resource, action, "refused", detail)
        raise ForbiddenError(
            f"token {known.name!r} ({known.role}) may not {_said(action)} {_name(product)}; "
            f"only {self._who(action, product)} may"
        )

    @staticmethod
    def _who(action: str, product: DeployedProduct | None) -> str:
        roles = [role for role, actions in ROLE_ACTIONS.items() if action in actions]
        who = [f"a principal with the {role} role" for role in roles]
        if product is not None and action in OWNER_ACTIONS:
            who.insert(0, f"its owner ({product.spec.owner}) or a principal its policies grant control")
        return " or ".join(who) or "nobody"


def _said(action: str) -> str:
    return _SAID.get(action, action)


def _name(product: DeployedProduct | None) -> str:
    return f"dp://{product.key}" if product is not None else "the mesh"
