"""Translate specs, rules and principals into Cedar: policy text with stable ids, and entities.

Entity model — principals: ``User``, ``ServiceAccount``, ``DataProduct``, ``Anonymous``, members
of ``Group``; resources: ``Product::"domain/name"`` ⊃ ``Port::"domain/name/port"`` ⊃
``Column::"domain/name/port#field"``; actions: read, readAggregate, readSynthetic, discover,
control, requestAccess. Context: ``purpose`` (string, "" when none) and ``now`` (epoch seconds).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import cedarpy

from hexmesh.governance.exceptions import PolicyError
from hexmesh.governance.identity import UNRESTRICTED, Principal
from hexmesh.spec.model import DataProductSpec
from hexmesh.spec.policies import AccessRule, Selector

__all__ = [
    "column_uid",
    "compile_rule",
    "owner_policies",
    "parse_cedar",
    "port_uid",
    "principal_entities",
    "principal_uid",
    "product_entities",
    "product_uid",
    "quote",
]

# Reading implies the weaker actions: whoever may read rows may also aggregate, see the
# synthetic variant and discover the port.
_IMPLIED = {
    "read": ["read", "readAggregate", "readSynthetic", "discover"],
    "readAggregate": ["readAggregate", "readSynthetic", "discover"],
    "readSynthetic": ["readSynthetic", "discover"],
}


@lru_cache(maxsize=65_536)  # the same names are quoted on every request
def quote(text: str) -> str:
    """A Cedar string literal; control characters are refused (JSON and Cedar escape them differently)."""
    if any(ord(c) < 32 for c in text):
        raise PolicyError(f"{text!r} contains a control character; names and ids in policies cannot")
    return json.dumps(text, ensure_ascii=False)


def product_uid(key: str) -> str:
    return f"Product::{quote(key)}"


def port_uid(key: str, port: str) -> str:
    return f"Port::{quote(f'{key}/{port}')}"


def column_uid(key: str, port: str, field: str) -> str:
    return f"Column::{quote(f'{key}/{port}#{field}')}"


def principal_uid(principal: Principal) -> str:
    return f"{principal.kind}::{quote(principal.id)}"


def _ref(kind: str, id_: str) -> dict[str, str]:
    return {"type": kind, "id": id_}


def product_entities(spec: DataProductSpec) -> list[dict[str, Any]]:
    """The product, its output ports and their columns as Cedar entities."""
    key = spec.key
    out: list[dict[str, Any]] = [
        {"uid": _ref("Product", key), "attrs": {"owner": spec.owner, "domain": spec.domain}, "parents": []}
    ]
    for port in spec.output_ports:
        port_id = f"{key}/{port.name}"
        out.append({"uid": _ref("Port", port_id), "attrs": {"name": port.name}, "parents": [_ref("Product", key)]})
        out.extend(
            {
                "uid": _ref("Column", f"{port_id}#{f.name}"),
                "attrs": {"name": f.name, "classification": f.classification or "unclassified"},
                "parents": [_ref("Port", port_id)],
            }
            for f in port.properties
        )
    return out


def principal_entities(principal: Principal) -> list[dict[str, Any]]:
    """The principal (with ``authenticated`` and its ``attributes`` record) and its groups."""
    attrs = {"authenticated": principal.authenticated, "attributes": dict(principal.attributes)}
    groups = sorted(principal.groups)
    return [
        {"uid": _ref(principal.kind, principal.id), "attrs": attrs, "parents": [_ref("Group", g) for g in groups]},
        *({"uid": _ref("Group", g), "attrs": {}, "parents": []} for g in groups),
    ]


def _scope(selector: Selector) -> tuple[str, list[str]]:
    """The principal clause of a policy, and any extra condition the selector needs."""
    if selector.user is not None:
        return f"principal == User::{quote(selector.user)}", []
    if selector.group is not None:
        return f"principal in Group::{quote(selector.group)}", []
    if selector.service_account is not None:
        return f"principal == ServiceAccount::{quote(selector.service_account)}", []
    if selector.product is not None:
        return f"principal == DataProduct::{quote(selector.product)}", []
    if selector.authenticated:
        return "principal", ["principal.authenticated"]
    return "principal", []


def _epoch(moment: date | datetime) -> int:
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _policy(policy_id: str, principal: str, actions: Iterable[str], resource: str, conditions: Sequence[str]) -> str:
    action_list = ", ".join(f"Action::{quote(a)}" for a in sorted(set(actions)))
    when = "".join(f" when {{ {c} }}" for c in conditions)
    return f"@id({quote(policy_id)})\npermit({principal}, action in [{action_list}], {resource}){when};"


def compile_rule(rule: AccessRule, policy_id: str, key: str) -> list[tuple[str, str]]:
    """A structured access rule as (id, Cedar text) pairs: one for the ports, one for their columns."""
    assert rule.allow is not None
    principal, conditions = _scope(rule.allow)
    actions = [a for action in rule.actions for a in _IMPLIED.get(action, [action])]
    if rule.purposes:
        conditions.append(f"[{', '.join(quote(p) for p in rule.purposes)}].contains(context.purpose)")
    if rule.expires is not None:
        conditions.append(f"context.now < {_epoch(rule.expires)}")
    ports = ", ".join(port_uid(key, p) for p in rule.ports)
    if rule.columns is None:
        if rule.ports:
            # A set of resources is only allowed in a condition, not in the policy's scope.
            return [
                (policy_id, _policy(policy_id, principal, actions, "resource", [*conditions, f"resource in [{ports}]"]))
            ]
        return [(policy_id, _policy(policy_id, principal, actions, f"resource in {product_uid(key)}", conditions))]
    # With a column restriction the port grant must not reach the columns through the hierarchy,
    # so ports and columns get separate policies.
    within = f"resource in [{ports}]" if rule.ports else f"resource in {product_uid(key)}"
    port_policy = _policy(policy_id, principal, actions, "resource is Port", [*conditions, within])
    names = rule.columns.include if rule.columns.include is not None else rule.columns.exclude
    listed = f"[{', '.join(quote(n) for n in names)}].contains(resource.name)"
    column_conditions = [*conditions, within, listed if rule.columns.include is not None else f"!{listed}"]
    column_id = f"{policy_id}#columns"
    column_policy = _policy(column_id, principal, actions, "resource is Column", column_conditions)
    return [(policy_id, port_policy), (column_id, column_policy)]


def owner_policies(spec: DataProductSpec) -> list[tuple[str, str]]:
    """The owner (a user or a group id) may do anything with its product; anyone signed in may ask; the
    unrestricted principal of a node that enforces no policies (``--no-auth``) may do anything."""
    product = product_uid(spec.key)
    owner = quote(spec.owner)
    return [
        ("builtin:owner", f'@id("builtin:owner")\npermit(principal == User::{owner}, action, resource in {product});'),
        (
            "builtin:owner-group",
            f'@id("builtin:owner-group")\npermit(principal in Group::{owner}, action, resource in {product});',
        ),
        (
            "builtin:unrestricted",
            '@id("builtin:unrestricted")\n'
            f"permit(principal == {principal_uid(UNRESTRICTED)}, action, resource in {product});",
        ),
        (
            "builtin:request-access",
            '@id("builtin:request-access")\npermit(principal, action == Action::"requestAccess", '
            f"resource in {product}) when {{ principal.authenticated }};",
        ),
    ]


def parse_cedar(text: str, source: str) -> dict[str, Any]:
    """Raw Cedar text as JSON policies keyed by ``@id`` (or ``<source>.<n>``); bad Cedar is a PolicyError."""
    try:
        parsed = json.loads(cedarpy.policies_to_json_str(text))
    except (ValueError, RuntimeError) as exc:
        raise PolicyError(f"Cedar policies in {source} do not parse: {exc}") from exc
    if parsed.get("templates"):
        raise PolicyError(f"{source}: Cedar templates are not supported; write static policies")
    out: dict[str, Any] = {}
    for cedar_id, policy in parsed.get("staticPolicies", {}).items():
        # Cedar numbers policies policy0, policy1, ... in text order; keep that number.
        out[policy.get("annotations", {}).get("id") or f"{source}.{cedar_id.removeprefix('policy')}"] = policy
    return out
