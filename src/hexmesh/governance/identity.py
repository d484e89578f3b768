"""Who is asking: users, groups, service accounts and data products acting as consumers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

__all__ = ["ANONYMOUS", "PRINCIPAL_KINDS", "Principal", "PrincipalKind"]

PrincipalKind = Literal["User", "ServiceAccount", "DataProduct", "Anonymous"]
PRINCIPAL_KINDS: tuple[str, ...] = get_args(PrincipalKind)


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

    def __post_init__(self) -> None:
        if self.kind not in PRINCIPAL_KINDS:
            raise ValueError(f"principal kind {self.kind!r} is not one of {', '.join(PRINCIPAL_KINDS)}")
        if not self.id:
            raise ValueError("a principal needs a non-empty id")

    def __hash__(self) -> int:
        return hash((self.id, self.kind, self.groups, tuple(sorted(self.attributes.items()))))

    @property
    def key(self) -> str:
        """A stable name for ledgers and audit: ``User:ann@example.com``."""
        return f"{self.kind}:{self.id}"

    @property
    def authenticated(self) -> bool:
        return self.kind != "Anonymous"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "groups": sorted(self.groups), "attributes": dict(self.attributes)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Principal:
        return cls(
            id=str(data["id"]),
            kind=data.get("kind", "User"),
            groups=frozenset(data.get("groups", ())),
            attributes=dict(data.get("attributes", {})),
        )


#: The caller without a credential; only policies granting ``anyone`` match it.
ANONYMOUS = Principal(id="anonymous", kind="Anonymous")
