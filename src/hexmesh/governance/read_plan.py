"""What one principal gets from one port: the variant, the visible columns and their transformations, the row filter.

The plan is computed once per request from the policy decider and applied the same way on every
port (SQL, files, events, client), so the ports cannot disagree.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, cast

from hexmesh.governance.access import Decision, PolicyDecider
from hexmesh.governance.exceptions import AccessDeniedError
from hexmesh.governance.identity import Principal
from hexmesh.governance.rowfilter import RowFilter, resolve_rows
from hexmesh.spec.model import FieldSpec
from hexmesh.spec.policies import PrivacyRule, Selector

__all__ = ["ColumnAction", "ReadPlan", "matches", "plan_read"]

Variant = Literal["rows", "aggregate", "synthetic"]
ActionKind = Literal["keep", "redact", "pseudonymize", "tokenize", "generalize"]
# When several privacy rules hit one column, the most protective wins.
_STRENGTH = {"generalize": 1, "pseudonymize": 2, "tokenize": 3, "redact": 4}


@dataclass(frozen=True)
class ColumnAction:
    """What happens to one visible column; ``scope`` names the key scope of pseudonyms and tokens."""

    kind: ActionKind
    rule: PrivacyRule | None = None
    policy_id: str | None = None
    scope: str | None = None


@dataclass(frozen=True)
class ReadPlan:
    """The decision and, when allowed, exactly what the principal may see."""

    decision: Decision
    variant: Variant
    columns: Mapping[str, ColumnAction]
    """Visible columns in port order; any other column is hidden entirely."""
    hidden: tuple[str, ...]
    row_filter: RowFilter | None
    """None means every row."""
    privileged: bool
    policy_ids: tuple[str, ...]
    min_group: Mapping[str, int] = field(default_factory=dict)
    """Count field -> minimum: rows below it are left out, after the row filter."""
    private: tuple[str, ...] = ()
    """Fields whose real values a synthetic variant never emits: personal or restricted, keys, identifiers."""

    def __post_init__(self) -> None:
        # Plans are cached and shared between requests: nobody may change one in place.
        object.__setattr__(self, "columns", MappingProxyType(dict(self.columns)))
        object.__setattr__(self, "min_group", MappingProxyType(dict(self.min_group)))

    def require(self) -> ReadPlan:
        self.decision.require()
        return self

    def fingerprint(self) -> str:
        """What the plan does to data, as a hash: two principals with equal fingerprints see equal bytes.

        Snapshots never change, so a port may cache a masked snapshot under (snapshot id, fingerprint).
        """
        shape = {
            "variant": self.variant,
            "columns": [
                [name, a.kind, a.scope, a.rule.model_dump(mode="json") if a.rule is not None else None]
                for name, a in self.columns.items()
            ],
            "rows": self.row_filter.sql() if self.row_filter is not None else None,
            "min_group": sorted(self.min_group.items()),
        }
        return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()


def matches(selector: Selector, principal: Principal) -> bool:
    """Whether a selector names the principal (the Python twin of the Cedar scopes)."""
    return (
        selector.anyone
        or (selector.authenticated and principal.authenticated)
        or (selector.user is not None and principal.kind == "User" and principal.id == selector.user)
        or (selector.group is not None and selector.group in principal.groups)
        or (
            selector.service_account is not None
            and principal.kind == "ServiceAccount"
            and principal.id == selector.service_account
        )
        or (selector.product is not None and principal.kind == "DataProduct" and principal.id == selector.product)
    )


def _privacy_rules(decider: PolicyDecider) -> list[tuple[str, PrivacyRule]]:
    sources = (("mesh", decider.mesh.rules.privacy), ("product", decider.policies.privacy))
    return [
        (f"{source}:{rule.id or f'privacy.{i}'}", rule) for source, rules in sources for i, rule in enumerate(rules)
    ]


def _scope(rule: PrivacyRule, decider: PolicyDecider) -> str:
    scope = rule.pseudonymize.scope if rule.pseudonymize else rule.tokenize.scope if rule.tokenize else ""
    return {"product": f"product:{decider.spec.key}", "domain": f"domain:{decider.spec.domain}", "mesh": "mesh"}.get(
        scope, f"custom:{scope}"
    )


def plan_read(
    decider: PolicyDecider, principal: Principal, port: str, *, purpose: str = "", now: float | None = None
) -> ReadPlan:
    """Plan a read of ``port``: rows if allowed, else aggregates (DP), else synthetic, else denied."""
    second = int(time.time() if now is None else now)
    key = (principal, port, purpose, second)
    cached = decider.plans.get(key)
    if cached is not None:
        return cast(ReadPlan, cached)
    return cast(ReadPlan, decider.plans.put(key, _plan(decider, principal, port, purpose, second)))


def _plan(decider: PolicyDecider, principal: Principal, port: str, purpose: str, now: int) -> ReadPlan:
    output = decider.spec.output(port)
    if output is None:
        raise AccessDeniedError(f"{decider.spec.key} has no output port {port!r}")
    # One Cedar batch for the port: the best variant the principal may have, and whether it is privileged.
    decided = decider.decide_actions(
        principal, ["read", "readAggregate", "readSynthetic", "control"], port, purpose=purpose, now=now
    )
    decision = decided["read"]
    variant: Variant = "rows"
    fallbacks: tuple[tuple[Variant, str], ...] = (("aggregate", "readAggregate"), ("synthetic", "readSynthetic"))
    for fallback, action in fallbacks:
        if not decision.allowed and decided[action].allowed:
            decision, variant = decided[action], fallback
    fields = [f.name for f in output.properties]
    private = tuple(f.name for f in output.properties if _identifying(f, output.primary_key))
    if not decision.allowed:
        return ReadPlan(decided["read"], "rows", {}, tuple(fields), None, False, decided["read"].policy_ids)
    privileged = decided["control"].allowed
    column_decisions = decider.decide_columns(principal, port, fields, action=decision.action, purpose=purpose, now=now)
    visible = [f for f in fields if column_decisions[f].allowed]
    policy_ids = set(decision.policy_ids)
    for f in visible:
        policy_ids.update(column_decisions[f].policy_ids)
    columns = {f: ColumnAction("keep") for f in visible}
    by_grant = bool(decision.policy_ids) and all(p.startswith("grant:") for p in decision.policy_ids)
    min_group: dict[str, int] = {}
    if not privileged:
        for policy_id, rule in _privacy_rules(decider):
            if rule.ports and port not in rule.ports:
                continue
            if rule.purposes and purpose not in rule.purposes:
                continue
            # A grant holder gets every mask of the port: an approval never opens more than the shape it names.
            if not by_grant and (
                (rule.for_ is not None and not matches(rule.for_, principal))
                or (rule.exempt is not None and matches(rule.exempt, principal))
            ):
                continue
            if rule.minimum_group_size is not None:
                # Applies even when the count column is hidden: small groups stay out either way.
                if rule.field in fields:
                    min_group[rule.field] = max(min_group.get(rule.field, 0), rule.minimum_group_size)
                    policy_ids.add(policy_id)
                continue
            for spec_field in output.properties:
                hit = rule.field == spec_field.name or (
                    rule.classification is not None and rule.classification == spec_field.classification
                )
                current = columns.get(spec_field.name)
                if not hit or current is None:
                    continue
                if current.kind == "keep" or _STRENGTH[rule.kind] > _STRENGTH[current.kind]:
                    scope = _scope(rule, decider) if rule.kind in ("pseudonymize", "tokenize") else None
                    columns[spec_field.name] = ColumnAction(rule.kind, rule, policy_id, scope)  # type: ignore[arg-type]
                    policy_ids.add(policy_id)
    row_filter = _row_filter(decider, decision.policy_ids, principal)
    hidden = tuple(f for f in fields if f not in columns)
    if row_filter is not None and any(f not in fields for f in row_filter.fields):
        raise AccessDeniedError(f"a row filter of {port} names a field the port lacks: {sorted(row_filter.fields)}")
    return ReadPlan(
        decision, variant, columns, hidden, row_filter, privileged, tuple(sorted(policy_ids)), min_group, private
    )


def _identifying(spec_field: FieldSpec, primary_key: Sequence[str]) -> bool:
    """Whether a field's real values point at a person or a record: a synthetic variant makes them up."""
    return bool(
        spec_field.classification in ("personal", "restricted")
        or spec_field.name in primary_key
        or spec_field.unique
        or spec_field.links
        or "subject" in spec_field.tags
        or spec_field.name == "id"
        or spec_field.name.endswith("_id")
    )


def _row_filter(decider: PolicyDecider, deciding: Sequence[str], principal: Principal) -> RowFilter | None:
    # A grant without a row condition (an owner, a raw Cedar permit, a plain rule) opens every row;
    # otherwise the rows are the union of what each permitting rule allows.
    rules = [decider.rules.get(policy_id) for policy_id in deciding]
    if any(rule is None or rule.rows is None for rule in rules):
        return None
    return resolve_rows([rule.rows for rule in rules if rule is not None and rule.rows is not None], principal)
