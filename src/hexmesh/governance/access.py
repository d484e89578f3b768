"""Access decisions: a product's own policies, the mesh's policies and live grants, evaluated together.

The policy set and the product's entities are parsed once per decider (rebuild it when policies
or grants change); principals' entities are cached, so a decision is one Cedar call.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cedarpy

from hexmesh.cache import BoundedCache
from hexmesh.governance.cedar import (
    column_uid,
    compile_rule,
    owner_policies,
    parse_cedar,
    port_uid,
    principal_entities,
    principal_uid,
    product_entities,
    product_uid,
)
from hexmesh.governance.exceptions import AccessDeniedError, PolicyError
from hexmesh.governance.identity import Principal
from hexmesh.spec.model import DataProductSpec
from hexmesh.spec.policies import AccessRule, ProductPolicies

__all__ = ["Decision", "MeshPolicies", "PolicyDecider"]

_CACHE_SIZE = 4096
#: Read plans kept per decider.
_PLANS = 10_000


@dataclass(frozen=True)
class Decision:
    """The answer to one request, with the policies that decided it and why."""

    allowed: bool
    principal: str
    action: str
    resource: str
    purpose: str
    policy_ids: tuple[str, ...]
    reasons: tuple[str, ...]

    @property
    def address(self) -> str:
        """The resource without its Cedar type: ``domain/name/port`` (ledgers and audit use it)."""
        return str(json.loads(self.resource.split("::", 1)[1]))

    def require(self) -> Decision:
        """Return self when allowed, else raise AccessDeniedError (its message names the policies)."""
        if not self.allowed:
            raise AccessDeniedError("; ".join(self.reasons))
        return self

    def to_json(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "principal": self.principal,
            "action": self.action,
            "resource": self.resource,
            "purpose": self.purpose,
            "policy_ids": list(self.policy_ids),
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class MeshPolicies:
    """Global policies from the mesh's governance folder: Cedar files and a policies.yaml."""

    cedar: Mapping[str, str] = field(default_factory=dict)
    """File name -> Cedar text (``governance/*.cedar``)."""
    rules: ProductPolicies = field(default_factory=ProductPolicies)
    """``governance/policies.yaml``: access rules apply to every product; privacy rules too."""


class PolicyDecider:
    """Decides requests on one product: pre-parsed policies and entities, cached principals."""

    def __init__(
        self,
        spec: DataProductSpec,
        policies: ProductPolicies | None = None,
        mesh: MeshPolicies | None = None,
        grants: Sequence[tuple[str, AccessRule]] = (),
    ) -> None:
        self.spec = spec
        self.policies = (
            policies
            if policies is not None
            else ProductPolicies.model_validate(spec.policies.model_dump(by_alias=True))
        )
        self.mesh = mesh or MeshPolicies()
        #: Structured rules by policy id: the plan reads their columns and rows.
        self.rules: dict[str, AccessRule] = {}
        merged: dict[str, Any] = {}
        sources: list[tuple[str, ProductPolicies]] = [("mesh", self.mesh.rules), ("product", self.policies)]
        for source, rule_set in sources:
            for index, rule in enumerate(rule_set.access):
                self._add(merged, f"{source}:{rule.id or index}", rule)
        for grant_id, rule in grants:
            self._add(merged, f"grant:{grant_id}", rule)
        for policy_id, text in owner_policies(spec):
            merged.update({policy_id: next(iter(parse_cedar(text, policy_id).values()))})
        for name, text in sorted(self.mesh.cedar.items()):
            self._merge(merged, parse_cedar(text, f"mesh:{name}"), f"mesh:{name}")
        self.policy_set = cedarpy.PolicySet.from_json_str(
            json.dumps({"staticPolicies": merged, "templates": {}, "templateLinks": []})
        )
        self._product = product_entities(spec)
        self._entities: BoundedCache[Principal, cedarpy.Entities] = BoundedCache(_CACHE_SIZE)
        #: Read plans by (principal, port, purpose, second): Cedar sees time in whole seconds, so a
        #: plan cannot change within one; a new decider (new policies or grants) starts empty.
        self.plans: BoundedCache[tuple[Principal, str, str, int], Any] = BoundedCache(_PLANS)

    def _add(self, merged: dict[str, Any], policy_id: str, rule: AccessRule) -> None:
        if rule.cedar is not None:
            self._merge(merged, parse_cedar(rule.cedar, policy_id), policy_id)
            return
        names = {p.name for p in self.spec.output_ports}
        unknown = sorted(set(rule.ports) - names)
        if unknown and policy_id.startswith("mesh:"):
            # A mesh rule names ports of some products; elsewhere it covers the ports that exist.
            known = [p for p in rule.ports if p in names]
            if not known:
                return
            rule = rule.model_copy(update={"ports": known})
        elif unknown:
            raise PolicyError(f"access rule {policy_id} names unknown port(s) {', '.join(unknown)} of {self.spec.key}")
        self.rules[policy_id] = rule
        for cedar_id, text in compile_rule(rule, policy_id, self.spec.key):
            merged[cedar_id] = next(iter(parse_cedar(text, cedar_id).values()))

    @staticmethod
    def _merge(merged: dict[str, Any], parsed: dict[str, Any], source: str) -> None:
        clash = sorted(set(parsed) & set(merged))
        if clash:
            raise PolicyError(f"{source}: policy id(s) {', '.join(clash)} are already used; ids must be unique")
        merged.update(parsed)

    def entities(self, principal: Principal) -> cedarpy.Entities:
        """The product's entities plus the principal's, cached per principal."""
        return self._entities.get_or_put(
            principal, lambda: cedarpy.Entities.from_json_str(json.dumps(self._product + principal_entities(principal)))
        )

    def _request(self, principal: Principal, action: str, resource: str, purpose: str, now: float) -> dict[str, Any]:
        return {
            "principal": principal_uid(principal),
            "action": f'Action::"{action}"',
            "resource": resource,
            "context": {"purpose": purpose, "now": int(now)},
        }

    def decide(
        self, principal: Principal, action: str, port: str | None = None, *, purpose: str = "", now: float | None = None
    ) -> Decision:
        """Decide ``action`` on a port (or on the product when ``port`` is None)."""
        resource = port_uid(self.spec.key, port) if port else product_uid(self.spec.key)
        when = time.time() if now is None else now
        result = cedarpy.is_authorized(
            self._request(principal, action, resource, purpose, when), self.policy_set, self.entities(principal)
        )
        return self._decision(result, principal, action, resource, purpose)

    def decide_actions(
        self, principal: Principal, actions: Sequence[str], port: str, *, purpose: str = "", now: float | None = None
    ) -> dict[str, Decision]:
        """Decide several actions on one port in one Cedar batch."""
        resource = port_uid(self.spec.key, port)
        when = time.time() if now is None else now
        requests = [self._request(principal, a, resource, purpose, when) for a in actions]
        results = cedarpy.is_authorized_batch(requests, self.policy_set, self.entities(principal))
        return {a: self._decision(r, principal, a, resource, purpose) for a, r in zip(actions, results, strict=True)}

    def decide_columns(
        self,
        principal: Principal,
        port: str,
        fields: Sequence[str],
        *,
        action: str = "read",
        purpose: str = "",
        now: float | None = None,
    ) -> dict[str, Decision]:
        """Decide ``action`` on each column of a port in one batch."""
        when = time.time() if now is None else now
        resources = [column_uid(self.spec.key, port, f) for f in fields]
        requests = [self._request(principal, action, r, purpose, when) for r in resources]
        results = cedarpy.is_authorized_batch(requests, self.policy_set, self.entities(principal))
        return {
            f: self._decision(r, principal, action, res, purpose)
            for f, r, res in zip(fields, results, resources, strict=True)
        }

    @staticmethod
    def _decision(
        result: cedarpy.AuthzResult, principal: Principal, action: str, resource: str, purpose: str
    ) -> Decision:
        ids = tuple(sorted(result.diagnostics.reasons))
        errors = [str(e) for e in result.diagnostics.errors]
        if result.allowed:
            reasons: tuple[str, ...] = (f"permitted by {', '.join(ids)}",)
        elif ids:
            reasons = (f"{action} on {resource} is forbidden by {', '.join(ids)}",)
        else:
            stated = f" for purpose {purpose!r}" if purpose else " without a stated purpose"
            reasons = (f"no policy permits {principal.key} to {action} {resource}{stated} (default deny)",)
        if errors:
            reasons += tuple(f"policy error: {e}" for e in errors)
        return Decision(result.allowed, principal.key, action, resource, purpose, ids, reasons)
