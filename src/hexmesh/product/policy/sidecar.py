"""The policy sidecar of a node: a policy decider per deployed product, read plans, tokens, audit.

One sidecar serves every port of a node (SQL, files, events, discovery, client). It parses each
product's policies once per deployed version together with the mesh's governance folder and the
live grants from the state store, and rebuilds that decider as soon as the set of grants changes
(an approval, a revocation, an expiry), so a decision never lags behind the records.

Looking the grants up is one query; a request that decides many times (a shaped discovery
document, a web page over many products) runs inside :func:`one_request`, where each product's
decider is looked up once: a grant approved meanwhile applies from the next request on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Engine

from hexmesh.governance import ANONYMOUS, MeshGovernance, PolicyDecider, Principal, ReadPlan, plan_read
from hexmesh.infra.state import audit
from hexmesh.product.deployed import DeployedProduct
from hexmesh.product.policy import tokens
from hexmesh.product.policy.ledger import StateLedger
from hexmesh.product.policy.requests import grants
from hexmesh.product.policy.revisions import policies_in_force
from hexmesh.product.policy.secret import governance_folder, load_governance, mesh_secret
from hexmesh.product.policy.variants import VariantCache
from hexmesh.product.runtime import Runtime

__all__ = ["PolicySidecar", "one_request"]

_DeciderKey = tuple[str, str, str]
#: Deciders already looked up by the current request (see :func:`one_request`); None outside one.
_REQUEST: ContextVar[dict[_DeciderKey, PolicyDecider] | None] = ContextVar("hexmesh_request_deciders", default=None)


@contextmanager
def one_request() -> Iterator[None]:
    """Within the block (one request, in this context and the tasks and threads it starts), each
    product's decider — and so its live grants — is looked up once."""
    token = _REQUEST.set({})
    try:
        yield
    finally:
        _REQUEST.reset(token)


class PolicySidecar:
    """Decides and audits every read of a node's ports.

    Args:
        runtime: the node's runtime (its state store holds tokens, grants, audit and budgets).
        governance: the mesh's governance folder, parsed; default: ``HEXMESH_GOVERNANCE`` or
            ``<home>/governance`` if it exists.
        secret: the mesh secret pseudonyms and tokens derive from; default: ``HEXMESH_SECRET``
            or ``<home>/mesh.secret``.
    """

    def __init__(
        self, runtime: Runtime, *, governance: MeshGovernance | None = None, secret: bytes | None = None
    ) -> None:
        self.runtime = runtime
        self.governance = governance or load_governance(governance_folder(runtime.settings))
        self.secret = secret if secret is not None else mesh_secret(runtime.settings)
        self.ledger = StateLedger(self.db)
        self.variants = VariantCache(self.secret)
        self._deciders: dict[_DeciderKey, tuple[tuple[str, ...], PolicyDecider]] = {}
        self._lock = threading.Lock()

    @property
    def db(self) -> Engine:
        """The state database (tokens, grants, audit log, privacy budgets)."""
        return self.runtime.state.db

    def authenticate(self, token: str | None) -> Principal:
        """The principal of an API token; no token is the anonymous caller.

        Raises:
            AuthenticationError: the token is unknown, wrong, expired or revoked.
        """
        if not token:
            return ANONYMOUS
        return tokens.authenticate(self.db, token)

    def decider(self, product: DeployedProduct) -> PolicyDecider:
        """The policy decider of a deployed version, rebuilt when its live grants or the policies in force
        change (a revision its owners set over the control port: see :mod:`.revisions`)."""
        key = (product.key, product.record.version, product.record.spec_hash)
        seen = _REQUEST.get()
        if seen is not None and key in seen:
            return seen[key]
        live = grants(self.db, product.key)
        in_force = policies_in_force(self.runtime, product)
        ids = (*sorted(grant_id for grant_id, _ in live), f"policies:{in_force.source}:{in_force.revision}")
        with self._lock:
            cached = self._deciders.get(key)
        if cached is not None and cached[0] == ids:
            found = cached[1]
        else:
            found = PolicyDecider(product.spec, in_force.policies, mesh=self.governance.policies, grants=live)
            with self._lock:
                self._deciders[key] = (ids, found)
        if seen is not None:
            seen[key] = found
        return found

    def plan(self, product: DeployedProduct, principal: Principal, port: str, *, purpose: str = "") -> ReadPlan:
        """What ``principal`` may read of ``port`` (check ``plan.decision.allowed`` and ``plan.variant``)."""
        return plan_read(self.decider(product), principal, port, purpose=purpose)

    def record(self, plan: ReadPlan, *, via: str, details: Mapping[str, Any] | None = None) -> None:
        """Append one audit entry for a decision taken on port surface ``via`` (sql, files, events, ...)."""
        decision = plan.decision
        audit.append(
            self.db,
            audit.AuditEntry(
                actor=decision.principal,
                action=f"{via}.{decision.action}",
                resource=f"dp://{decision.address}",  # the same key as the product's control actions
                decision="allow" if decision.allowed else "deny",
                purpose=decision.purpose,
                policy_ids=plan.policy_ids if decision.allowed else decision.policy_ids,
                details={
                    "variant": plan.variant,
                    "hidden": list(plan.hidden),
                    "reasons": list(decision.reasons),
                    **(details or {}),
                },
            ),
        )
