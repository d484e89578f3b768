"""Owners, contacts and access: a contract's team and roles ↔ hexmesh's owner, contacts and policies.

- The owner is the active team member whose role says owner, else the team's name, else the
  first active member. Other active members become contacts.
- A role with ``access: read`` becomes an access rule letting that group read the product's
  ports (hexmesh checks it at every port). Other access (``write``) has no counterpart: hexmesh
  ports are read-only, the product writes through its transformation; such roles are kept and listed.
- Fields classified personal or restricted get a privacy rule (pseudonymized for everyone but
  the owner), because hexmesh refuses to deploy them unprotected; a port with restricted fields
  names its data subject. These generated rules have ids starting ``from-classification-`` and
  are not exported (an import makes them again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hexmesh.standards.names import port_name

__all__ = [
    "GENERATED",
    "POLICIES",
    "X_POLICIES",
    "Team",
    "access_rules",
    "classification_of",
    "export_team",
    "exported_policies",
    "exported_value",
    "policies",
    "roles_of",
    "team_of",
]

GENERATED = "from-classification-"
#: The custom property carrying the hexmesh policies a standard has no words for.
POLICIES = "hexmesh.policies"
#: Where DPDS and DCS documents carry them (their ``info`` takes ``x-`` keys).
X_POLICIES = "x-hexmesh-policies"
_CLASSES = {
    "public": "public",
    "internal": "internal",
    "confidential": "confidential",
    "sensitive": "confidential",
    "personal": "personal",
    "pii": "personal",
    "restricted": "restricted",
    "secret": "restricted",
    "highly confidential": "restricted",
}


@dataclass
class Team:
    owner: str | None
    contacts: list[str] = field(default_factory=list)


def _active(members: list[Any]) -> list[dict[str, Any]]:
    return [m for m in members if isinstance(m, dict) and m.get("username") and not m.get("dateOut")]


def team_of(team: Any) -> Team:
    """Owner and contacts of an ODCS/ODPS ``team`` (3.1: an object with members; 3.0: a list)."""
    if isinstance(team, list):
        members, name = team, None
    elif isinstance(team, dict):
        members, name = team.get("members") or [], team.get("name")
    else:
        return Team(None)
    active = _active(members)
    owners = [m for m in active if "owner" in str(m.get("role", "")).lower()]
    owner = str(owners[0]["username"]) if owners else (str(name) if name else None)
    if owner is None and active:
        owner = str(active[0]["username"])
    contacts = [str(m["username"]) for m in active if str(m["username"]) != owner]
    return Team(owner, contacts)


def export_team(owner: str, contacts: list[str]) -> dict[str, Any]:
    """An ODCS 3.1 / ODPS ``team`` of a hexmesh owner and contacts."""
    members = [{"username": owner, "role": "owner"}] + [{"username": c, "role": "contact"} for c in contacts]
    return {"name": owner, "members": members}


def classification_of(text: Any) -> str | None:
    """hexmesh's classification for a standard's (free text) one; None when it is not known."""
    return _CLASSES.get(str(text).strip().lower()) if text is not None else None


def access_rules(roles: list[Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Access rules of ODCS ``roles``, and the roles hexmesh cannot enforce (with why)."""
    rules, unenforced = [], []
    for role in roles:
        if not isinstance(role, dict) or not role.get("role"):
            continue
        access = str(role.get("access", "read")).lower()
        name = str(role["role"])
        if access == "read":
            rules.append({"id": f"role-{port_name(name)}", "allow": {"group": name}, "actions": ["read"]})
        else:
            unenforced.append(f"role {name} ({access} access: hexmesh ports are read-only; kept, not enforced)")
    return rules, unenforced


def roles_of(access: list[Any]) -> list[dict[str, Any]]:
    """ODCS ``roles`` of hexmesh access rules that let a group read (the others have no ODCS form)."""
    roles = []
    for rule in access:
        group = rule.allow.group if rule.allow is not None else None
        if group and "read" in rule.actions:
            roles.append({"role": group, "access": "read"})
    return roles


def policies(
    ports: list[Any], kept: dict[str, list[Any]], access: list[dict[str, Any]], notes: Any
) -> dict[str, list[Any]]:
    """The product's policies: read roles, the policies an earlier export kept, and a privacy rule
    for each sensitive classification whose fields no kept rule covers (listed in ``notes``)."""
    privacy = list(kept.get("privacy", []))
    uncovered: set[str] = set()
    for port in ports:
        for item in port.properties:
            if item.classification not in ("personal", "restricted"):
                continue
            covered = any(
                r.get("field") == item.name or r.get("classification") == item.classification
                for r in privacy
                if isinstance(r, dict)
            )
            if not covered:
                uncovered.add(item.classification)
    for level in ("personal", "restricted"):
        if level in uncovered:
            privacy.append({"id": f"{GENERATED}{level}", "classification": level, "pseudonymize": True})
            notes.changed.append(
                f"policies.privacy: {level} fields pseudonymized for everyone but the owner "
                f"({GENERATED}{level}); hexmesh does not deploy them unprotected"
            )
    return {"access": access + list(kept.get("access", [])), "privacy": privacy}


def exported_value(spec: Any) -> dict[str, Any] | None:
    """The policies a standard's document carries for hexmesh (``hexmesh.policies``): all but the read
    roles (ODCS says those itself) and the privacy rules an import generated (it makes them again)."""
    access = [r for r in spec.policies.access if not _is_role(r)]
    privacy = [r for r in spec.policies.privacy if not (r.id or "").startswith(GENERATED)]
    value: dict[str, Any] = {}
    if access:
        value["access"] = [r.model_dump(by_alias=True, exclude_defaults=True, mode="json") for r in access]
    if privacy:
        value["privacy"] = [r.model_dump(by_alias=True, exclude_defaults=True, mode="json") for r in privacy]
    return value or None


def _is_role(rule: Any) -> bool:
    return (
        rule.allow is not None
        and rule.allow.group is not None
        and list(rule.actions) == ["read"]
        and not (rule.ports or rule.purposes or rule.columns or rule.rows or rule.expires)
        and (rule.id is None or rule.id.startswith("role-"))
    )


def exported_policies(custom: list[Any]) -> dict[str, list[Any]]:
    """The policies an earlier hexmesh export kept in ``customProperties`` (``hexmesh.policies``)."""
    for item in custom:
        if isinstance(item, dict) and item.get("property") == POLICIES and isinstance(item.get("value"), dict):
            return {k: list(v) for k, v in item["value"].items() if k in ("access", "privacy") and isinstance(v, list)}
    return {}


def kept_value(value: Any) -> dict[str, list[Any]]:
    """Policies kept under ``x-hexmesh-policies`` (DPDS, DCS)."""
    if not isinstance(value, dict):
        return {}
    return {k: list(v) for k, v in value.items() if k in ("access", "privacy") and isinstance(v, list)}
