"""The governance facade of a workspace: API tokens, access requests, the audit log, forgetting, rule sets.

``hexmesh token|access|forget|audit``, the demo's governance tour, the web UI and the control
port call these methods; each one goes through the policy sidecar (the same decisions every port
makes) and the state store, and every step is audited there. Surfaces only parse and render.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa

from hexmesh.governance import Principal
from hexmesh.governance.grants import AccessRequest
from hexmesh.infra.keys import KeyStore, master_key
from hexmesh.infra.state import StateStore, audit
from hexmesh.infra.state.audit import AuditEntry
from hexmesh.infra.state.operator_tokens import clear_operator_tokens
from hexmesh.infra.state.policy_revisions import PolicyRevision
from hexmesh.infra.state.records import now_us
from hexmesh.lifecycle import policies as policy_changes
from hexmesh.lifecycle.rules import RuleSetChange, accept_ruleset
from hexmesh.product import DeployedProduct
from hexmesh.product.authority import Actor, Authority, workspace_root
from hexmesh.product.control import AuditLog, Tokens
from hexmesh.product.policy import PolicySidecar, decide_access, governed_table, request_access, requests, tokens
from hexmesh.product.policy.requests import DAY_US
from hexmesh.product.policy.revisions import PoliciesInForce, policies_in_force
from hexmesh.product.policy.tokens import TokenInfo
from hexmesh.spec import DataProductSpec

if TYPE_CHECKING:
    from hexmesh.lifecycle.workspace import Workspace

__all__ = [
    "AccessRequest",
    "Actor",
    "AuditEntry",
    "Migrated",
    "PoliciesInForce",
    "PolicyRevision",
    "RuleSetChange",
    "Stewardship",
    "TokenInfo",
    "Verdict",
]

Verdict = Literal["approve", "deny", "revoke"]


@dataclass(frozen=True)
class Migrated:
    """A clear-text operator token and what ``migrate_legacy_tokens`` made of it."""

    name: str
    role: str
    products: tuple[str, ...]
    secret: str | None = None
    """The new API token's text (shown once); None when it was not converted (owners use their own)."""
    token_id: str | None = None


class Stewardship:
    """What owners, consumers and operators do about who may read what, in one workspace."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.runtime = workspace.runtime

    @cached_property
    def sidecar(self) -> PolicySidecar:
        """The policy sidecar every decision here goes through (one per workspace)."""
        return PolicySidecar(self.runtime)

    # -- who administers (ADR 0019) --------------------------------------------------------------

    def administer(self, token: str | None, action: str, product: str | None = None) -> Actor:
        """Who does ``action`` (on ``product``, else the mesh): the workspace's root, else ``token``'s principal.

        The root acts as itself (it could open the state store anyway); anyone else acts with a
        token. A shared state store without an operator yet lets its first operator token be
        made (``hexmesh token create … --role operator``), recorded as ``bootstrap``.

        Raises:
            UnauthorizedError / ForbiddenError: neither the root nor a token allowed to (audited).
        """
        settings = self.workspace.settings
        db = self.runtime.state.db
        authority = Authority(self.sidecar, Tokens.load(settings, db), AuditLog(db))
        root = workspace_root(settings)
        if root is None and action == "tokens" and not self._operators():
            root = Actor("bootstrap")
        deployed = DeployedProduct.load(self.runtime, product) if product is not None else None
        return authority.authorize(None if root else token, action, deployed, root=root)

    def administer_deploy(self, token: str | None, specs: Sequence[DataProductSpec]) -> Actor:
        """Who deploys ``specs``: the workspace's root, else a token of each product's owner (audited refusals).

        Raises:
            UnauthorizedError / ForbiddenError: neither the root nor a token of every owner.
        """
        settings = self.workspace.settings
        db = self.runtime.state.db
        authority = Authority(self.sidecar, Tokens.load(settings, db), AuditLog(db))
        root = workspace_root(settings)
        return authority.authorize_deploy(token, specs, root=root)

    def record(self, actor: Actor, action: str, resource: str, detail: Any, *, decision: str = "ok") -> None:
        """Append what an administrative act did (``resource``: a product key, or ``mesh``)."""
        AuditLog(self.runtime.state.db).record(actor.name, resource, action, decision, detail)

    def _operators(self) -> list[TokenInfo]:
        now = now_us()
        return [t for t in self.tokens() if t.principal.has_role("operator") and t.active(now)]

    # -- API tokens ------------------------------------------------------------------------

    def authenticate(self, secret: str) -> Principal:
        """The principal of an API token; AuthenticationError when it is unknown, expired or revoked."""
        return self.sidecar.authenticate(secret)

    def create_token(self, principal: Principal, *, name: str = "", ttl_us: int | None = None) -> tuple[str, TokenInfo]:
        """A new token: its secret (shown once, only its hash is kept) and what ``tokens`` shows of it."""
        return tokens.create_token(self.runtime.state.db, principal, name=name, ttl_us=ttl_us)

    def tokens(self, principal_id: str | None = None) -> list[TokenInfo]:
        """Tokens (never their secrets), newest first."""
        return tokens.list_tokens(self.runtime.state.db, principal_id)

    def revoke_token(self, token_id: str) -> TokenInfo:
        """Revoke a token at once, on every port."""
        return tokens.revoke_token(self.runtime.state.db, token_id)

    def token_expiry_us(self, secret: str) -> int | None:
        """When the token with this secret expires (None: never, or no such token)."""
        return tokens.expiry_us(self.runtime.state.db, secret)

    # -- access requests ---------------------------------------------------------------------

    def request_access(
        self, principal: Principal, ref: str, port: str, purpose: str, note: str = "", *, for_product: str | None = None
    ) -> AccessRequest:
        """Ask the owners of ``ref`` for read access to ``port`` for ``purpose`` (for the principal of
        ``for_product``, which reads its input ports as itself, when given)."""
        return request_access(self.sidecar, principal, ref, port, purpose, note, for_product=for_product)

    def requests(
        self, *, product: str | None = None, status: str | None = None, principal_id: str | None = None
    ) -> list[AccessRequest]:
        """Access requests, newest first."""
        db = self.runtime.state.db
        return requests.list_requests(db, product=product, status=status, principal_id=principal_id)

    def request(self, request_id: str) -> AccessRequest:
        return requests.get_request(self.runtime.state.db, request_id)

    def decide(
        self,
        request_id: str,
        decider: Principal,
        verdict: Verdict,
        note: str = "",
        *,
        days: int = 90,
        shape: str | None = None,
    ) -> AccessRequest:
        """Approve, deny or revoke a request; only principals who control the product may.

        An approval grants the policy shape ``shape`` (a read rule's id) or the default one.
        """
        return decide_access(self.sidecar, request_id, decider, verdict, note, duration_us=days * DAY_US, shape=shape)

    # -- reads as a principal sees them ------------------------------------------------------

    def shaped(
        self,
        principal: Principal,
        product: DeployedProduct,
        port: str,
        rows: pa.Table,
        *,
        purpose: str = "",
        variant: Literal["rows", "synthetic"] = "rows",
        via: str = "files",
        snapshot: Hashable | None = None,
    ) -> pa.Table:
        """``rows`` of ``port`` as ``principal`` may see them (audited); AccessDeniedError when it may not."""
        return governed_table(
            self.sidecar, product, principal, port, rows, purpose=purpose, variant=variant, via=via, snapshot=snapshot
        )

    # -- a product's policies, changed without a deploy ------------------------------------------

    def policies(self, ref: str) -> PoliciesInForce:
        """The policies every port enforces for ``ref`` now (a control-port revision, or the spec's)."""
        return policies_in_force(self.runtime, DeployedProduct.load(self.runtime, ref))

    def replace_policies(self, ref: str, body: Mapping[str, Any], actor: str) -> PoliciesInForce:
        """Put ``body`` in force (validated, checked against the mesh's rules) as a new revision."""
        return policy_changes.replace_policies(self.runtime, DeployedProduct.load(self.runtime, ref), body, actor)

    def rollback_policies(self, ref: str, revision: int, actor: str) -> PoliciesInForce:
        """Put revision ``revision`` (0: the deployed spec's) back in force, as a new revision."""
        return policy_changes.rollback_policies(self.runtime, DeployedProduct.load(self.runtime, ref), revision, actor)

    def policy_history(self, ref: str) -> list[PolicyRevision]:
        """Every revision of ``ref``'s policies, oldest first."""
        return policy_changes.policy_history(self.runtime, DeployedProduct.load(self.runtime, ref))

    # -- the mesh's rule set ---------------------------------------------------------------------

    def accept_rules(self, text: str, author: str) -> RuleSetChange:
        """Store a new revision of the mesh's rule set (YAML) and re-check every deployed product."""
        return accept_ruleset(self.workspace, text, author)

    # -- forgetting and the audit log --------------------------------------------------------

    def forget(self, subject: str, actor: Actor) -> bool:
        """Destroy a data subject's key (audited as ``actor``); False when it had none.

        Sealed copies (tables, quarantine, events, caches keyed by the forget epoch) become
        unreadable with the key. Run records are the one copy kept in the clear: the example rows
        of failed checks that belong to the subject, and the error lines quoting them, are removed.
        """
        destroyed = KeyStore(self.runtime.state.db, master_key(self.runtime.settings)).forget(subject)
        scrubbed = _forget_in_runs(self.runtime.state, subject)
        # The subject is not named in the log: its key id is what the key store keeps, and the log is forever.
        self.record(actor, "forget", "mesh", {"run_records": scrubbed}, decision="forgotten" if destroyed else "no-key")
        return destroyed

    def migrate_legacy_tokens(self, actor: Actor) -> list[Migrated]:
        """Replace the clear-text operator tokens (``<home>/tokens.yaml``, ``HEXMESH_TOKENS``) by API tokens.

        A governance token becomes an API token of a service account with the operator and
        governance roles; an owner token becomes nothing (owners act with their own API token).
        ``tokens.yaml`` is then deleted, and on a cluster's shared state every node's stored hashes;
        the ``tokens`` setting acts until it is unset (on every node).
        """
        settings = self.workspace.settings
        db = self.runtime.state.db
        migrated = []
        for old in Tokens.load(settings, db).principals():
            if old.role != "governance":
                migrated.append(Migrated(old.name, old.role, old.products))
                continue
            who = Principal(old.name, "ServiceAccount", roles=frozenset({"operator", "governance"}))
            text, info = self.create_token(who, name=f"migrated from the clear-text token {old.name!r}")
            self.record(actor, "token-migrate", "mesh", {"from": old.name, "id": info.id, "principal": who.key})
            migrated.append(Migrated(old.name, old.role, old.products, text, info.id))
        file = settings.home / "tokens.yaml"
        if file.is_file():
            file.unlink()  # secrets in clear text on disk: gone
        clear_operator_tokens(db)
        return migrated

    def audit(
        self,
        *,
        under: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """The newest ``limit`` entries (oldest first) about ``under`` and below it, by ``actor``, of ``action``."""
        db = self.runtime.state.db
        return audit.query(db, under=under, actor=actor, action=action, limit=limit, newest=True)

    def audit_altered_at(self) -> int | None:
        """The first entry where the audit log's hash chain breaks, None when it is intact."""
        return audit.verify(self.runtime.state.db)


#: What a failed check's example row of a forgotten subject becomes in its run record.
FORGOTTEN_ROW = {"[forgotten]": True}


def _forget_in_runs(state: StateStore, subject: str) -> int:
    """Remove ``subject``'s example rows (and error lines quoting them) from every run record; how many changed."""
    changed = 0
    for run in state.runs(limit=1_000_000):
        checks = run.details.get("checks")
        if not isinstance(checks, list):
            continue
        hit = False
        kept = []
        for check in checks:
            examples = check.get("examples") if isinstance(check, dict) else None
            if isinstance(examples, list) and any(_names(row, subject) for row in examples):
                hit = True
                check = {**check, "examples": [FORGOTTEN_ROW if _names(r, subject) else r for r in examples]}
            kept.append(check)
        error = run.error
        # The gate's message quotes example rows as "e.g. {row}" lines: those naming the subject go.
        quoted = [line for line in (error or "").split("\n") if line.strip().startswith("e.g.") and subject in line]
        if error and quoted:
            hit = True
            error = "\n".join(
                "      e.g. [a forgotten subject's row]" if line in quoted else line for line in error.split("\n")
            )
        if hit:
            state.rewrite_run(run.id, {**run.details, "checks": kept}, error)
            changed += 1
    return changed


def _names(row: Any, subject: str) -> bool:
    return isinstance(row, dict) and any(str(value) == subject for value in row.values())
