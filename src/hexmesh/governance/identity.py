"""Who is asking: users, groups, service accounts and data products acting as consumers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

__all__ = [
    "ANONYMOUS",
    "PRINCIPAL_KINDS",
    "ROLES",
    "UNRESTRICTED",
    "Principal",
    "PrincipalKind",
    "Role",
    "product_principal",
]

PrincipalKind = Literal["User", "ServiceAccount", "DataProduct", "Anonymous", "Unrestricted"]
PRINCIPAL_KINDS: tuple[str, ...] = get_args(PrincipalKind)
#: Platform roles: who administers the node and the mesh. A role is never a permission on data:
#: what a principal may read is decided by policies alone (an operator reads nothing by its role).
Role = Literal["operator", "governance"]
ROLES: tuple[str, ...] = get_args(Role)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller (or the anonymous one), its groups and its attributes.

    Groups are not callers themselves: a user or service account is a member of groups, and
    policies may name either. Attributes (region, clearance, ...) feed row filters and Cedar
    conditions.
    """

    id: str
    kind: PrincipalKind = "User"
    groups: frozenset[str] = frozenset()
    attributes: Mapping[str, str | int | bool] = field(default_factory=dict)
    roles: frozenset[str] = frozenset()
    """Platform roles (:data:`ROLES`): ``operator`` runs the node (tokens, forget, runs, retire,
    backfill, the audit log), ``governance`` changes the mesh's rule set. Not data permissions."""

    def __post_init__(self) -> None:
        if self.kind not in PRINCIPAL_KINDS:
            raise ValueError(f"principal kind {self.kind!r} is not one of {', '.join(PRINCIPAL_KINDS)}")
        if not self.id:
            raise ValueError("a principal needs a non-empty id")
        unknown = sorted(set(self.roles) - set(ROLES))
        if unknown:
            raise ValueError(f"role {', '.join(unknown)} is not one of {', '.join(ROLES)}")
        if self.roles and self.kind not in ("User", "ServiceAccount"):
            raise ValueError(f"only users and service accounts hold roles, not a {self.kind}")
        if self.kind == "Unrestricted" and self.id != _UNRESTRICTED_ID:
            raise ValueError(f"there is one unrestricted principal, {_UNRESTRICTED_ID!r}, not {self.id!r}")

    def __hash__(self) -> int:
        return hash((self.id, self.kind, self.groups, tuple(sorted(self.attributes.items())), self.roles))

    @property
    def key(self) -> str:
        """A stable name for ledgers and audit: ``User:ann@example.com``."""
        return f"{self.kind}:{self.id}"

    @property
    def authenticated(self) -> bool:
        """Whether the caller proved who it is (a token): neither the anonymous nor the unrestricted one."""
        return self.kind not in ("Anonymous", "Unrestricted")

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    def to_json(self) -> dict[str, Any]:
        found = {"id": self.id, "kind": self.kind, "groups": sorted(self.groups), "attributes": dict(self.attributes)}
        return found | ({"roles": sorted(self.roles)} if self.roles else {})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Principal:
        if data.get("kind") == "Unrestricted":  # no token, grant or record may stand for it
            raise ValueError("the unrestricted principal is a node's setting (--no-auth), never a stored principal")
        return cls(
            id=str(data["id"]),
            kind=data.get("kind", "User"),
            groups=frozenset(data.get("groups", ())),
            attributes=dict(data.get("attributes", {})),
            roles=frozenset(data.get("roles", ())),
        )


#: The caller without a credential; only policies granting ``anyone`` match it.
ANONYMOUS = Principal(id="anonymous", kind="Anonymous")

_UNRESTRICTED_ID = "no-auth"
#: Every caller of a node that enforces no policies (``hexmesh serve --no-auth``). Not a skipped
#: check: every decider permits it everything (``builtin:unrestricted``), so its reads and documents
#: pass the same policy code as anyone's, and come out whole. No token or stored record names it.
UNRESTRICTED = Principal(id=_UNRESTRICTED_ID, kind="Unrestricted")


def product_principal(key: str, owner: str) -> Principal:
    """The principal a data product reads its input ports as (docs/adr/0026).

    ``DataProduct::<domain/name>``, a member of its owner team's group: policies grant it by
    ``{product: domain/name}``, or by the owner's group, and it reads an upstream port exactly as
    that principal would from outside. It holds no role and is never an owner's *user*: a product
    owned by ``ann@example.com`` does not read what the user ann may read.
    """
    return Principal(id=key, kind="DataProduct", groups=frozenset({owner}))
