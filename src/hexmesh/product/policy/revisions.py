"""The policies in force for a deployed product: its spec's, or a revision its owners set over the control port.

Owners may replace a product's policies without a deploy (``PUT …/control/policies``) and roll them
back. The latest explicit act wins: a revision made after the spec's policies last changed is in
force; deploying a version whose policies differ from its predecessor's brings the spec's back
(a bug-fix release with the same policies keeps the revision). Every port asks here through the
sidecar, per request, so a change holds on SQL, files, events, discovery and the client at once.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hexmesh.infra.state.policy_revisions import PolicyRevision, latest_revision
from hexmesh.product.deployed import DeployedProduct
from hexmesh.product.runtime import Runtime
from hexmesh.spec.policies import PolicyModel, ProductPolicies

__all__ = ["PoliciesInForce", "policies_in_force", "spec_policies_since"]


@dataclass(frozen=True)
class PoliciesInForce:
    """What is enforced, and where it comes from (``revision`` 0: the deployed spec's)."""

    policies: ProductPolicies
    source: Literal["spec", "control"]
    revision: int
    latest: PolicyRevision | None
    """The newest stored revision (it may be older than the spec's policies, so not in force)."""

    def as_dict(self) -> dict[str, Any]:
        def shown(rules: Sequence[PolicyModel]) -> list[dict[str, Any]]:
            return [r.model_dump(mode="json", by_alias=True, exclude_defaults=True) for r in rules]

        return {
            "source": self.source,
            "revision": self.revision,
            "access": shown(self.policies.access),
            "privacy": shown(self.policies.privacy),
        }


def policies_in_force(runtime: Runtime, product: DeployedProduct) -> PoliciesInForce:
    """The policies every port enforces for ``product`` now (one indexed query, plus one per new version)."""
    record = product.record
    latest = latest_revision(runtime.state.db, product.key, record.major)
    spec = product.spec.policies
    if latest is None or latest.created_us < spec_policies_since(runtime, product):
        return PoliciesInForce(spec, "spec", 0, latest)
    if latest.policies is None:  # a rollback to the spec's
        return PoliciesInForce(spec, "spec", latest.revision, latest)
    return PoliciesInForce(ProductPolicies.model_validate(latest.policies), "control", latest.revision, latest)


_SINCE: dict[tuple[str, int, str], int] = {}
_LOCK = threading.Lock()


def spec_policies_since(runtime: Runtime, product: DeployedProduct) -> int:
    """When the deployed spec's policies came into force: the deploy time of the first version of this
    major in the unbroken run of versions (newest back) whose spec declares the same policies."""
    record = product.record
    key = (product.key, record.major, record.spec_hash)
    with _LOCK:
        found = _SINCE.get(key)
    if found is not None:
        return found
    current = _fingerprint(product)
    since = record.deployed_us
    older = [v for v in runtime.state.versions(product.key) if v.major == record.major]
    for version in sorted(older, key=lambda v: v.deployed_us, reverse=True):
        if version.deployed_us > record.deployed_us:
            continue
        if _fingerprint(DeployedProduct(version)) != current:
            break
        since = version.deployed_us
    with _LOCK:
        _SINCE[key] = since
    return since


def _fingerprint(product: DeployedProduct) -> str:
    return json.dumps(product.spec.policies.model_dump(mode="json", by_alias=True), sort_keys=True)
