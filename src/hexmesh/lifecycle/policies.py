"""Owners change a product's policies without a deploy: validated, checked against the mesh's rules,
stored as a new revision, in force on every port from the next request (see
:mod:`hexmesh.product.policy.revisions`), and rolled back the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from hexmesh.governance import PolicyDecider, PolicyError
from hexmesh.infra.state.policy_revisions import PolicyRevision, add_revision, revisions
from hexmesh.lifecycle.rules import mesh_rules
from hexmesh.product import DeployedProduct, Runtime
from hexmesh.product.policy import governance_folder, load_governance
from hexmesh.product.policy.revisions import PoliciesInForce, policies_in_force
from hexmesh.spec.policies import ProductPolicies

__all__ = ["policy_history", "replace_policies", "rollback_policies"]


def replace_policies(
    runtime: Runtime, product: DeployedProduct, body: Mapping[str, Any], actor: str
) -> PoliciesInForce:
    """Put ``body`` (the descriptor's ``policies`` form) in force for ``product``'s major.

    Raises:
        PolicyError: the policies are malformed, name unknown ports, or fail a blocking rule of the
            mesh (nothing is stored then).
    """
    try:
        policies = ProductPolicies.model_validate(dict(body))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise PolicyError(f"the policies are not valid ({problems}); nothing was changed") from None
    _check(runtime, product, policies)
    dumped = policies.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    add_revision(runtime.state.db, product.key, product.record.major, dumped, action="replace", actor=actor)
    return policies_in_force(runtime, product)


def rollback_policies(runtime: Runtime, product: DeployedProduct, revision: int, actor: str) -> PoliciesInForce:
    """Put revision ``revision`` (0: the deployed spec's policies) back in force, as a new revision.

    Raises:
        PolicyError: no such revision, or its policies fail a blocking rule of the mesh today.
    """
    target: dict[str, Any] | None = None
    if revision != 0:
        history = {r.revision: r for r in policy_history(runtime, product)}
        if revision not in history:
            known = ", ".join(str(n) for n in history) or "none yet"
            raise PolicyError(
                f"{product.key} has no policy revision {revision}; revisions: 0 (the deployed spec's), {known}"
            )
        target = history[revision].policies
    policies = product.spec.policies if target is None else ProductPolicies.model_validate(target)
    _check(runtime, product, policies)
    add_revision(runtime.state.db, product.key, product.record.major, target, action="rollback", actor=actor)
    return policies_in_force(runtime, product)


def policy_history(runtime: Runtime, product: DeployedProduct) -> list[PolicyRevision]:
    """Every revision of the product's policies at its major, oldest first."""
    return revisions(runtime.state.db, product.key, product.record.major)


def _check(runtime: Runtime, product: DeployedProduct, policies: ProductPolicies) -> None:
    """Refuse policies that would not compile for this product or that break a blocking rule of the mesh."""
    governance = load_governance(governance_folder(runtime.settings))
    try:
        PolicyDecider(product.spec, policies, mesh=governance.policies)
    except PolicyError as exc:
        raise PolicyError(f"{exc}; nothing was changed") from None
    changed = product.spec.model_copy(update={"policies": policies})
    problems = mesh_rules(runtime.settings, runtime.state.db).problems(changed)
    if problems:
        listed = "; ".join(f"{p.message} ({p.hint})" for p in problems)
        raise PolicyError(f"the policies break the mesh's rules: {listed}; nothing was changed")
