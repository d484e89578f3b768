"""``hexmesh deprecate``: announce a sunset date and a successor, and tell every consumer.

The state is recorded per major in the state store and read by every surface through
:func:`lifecycle_state` (``Workspace.lifecycle_state``): the HTTP node turns it into
``Deprecation`` / ``Sunset`` / ``Link: <successor>; rel="successor-version"`` headers (RFC 8594)
and the SQL port into a NOTICE. Each consumer (a live product whose input ports read the
major) gets a notice in the state store (``Workspace.notices``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from hexmesh.errors import DeployError
from hexmesh.infra.state import MajorState, from_us, now_us
from hexmesh.lifecycle.consumers import edges
from hexmesh.product import DeployedProduct, Runtime
from hexmesh.spec import parse_address

__all__ = ["LifecycleState", "deprecate", "lifecycle_state"]


@dataclass(frozen=True)
class LifecycleState:
    """Where one major of a product is in its life."""

    product: str
    major: int
    status: str
    """active | deprecated | retired."""
    sunset: date | None = None
    successor: str | None = None
    reason: str | None = None
    retention: str | None = None
    """keep | delete: what retirement did (or will do) with the data."""
    changed_at: datetime | None = None
    consumers: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["sunset"] = self.sunset.isoformat() if self.sunset else None
        data["changed_at"] = self.changed_at.isoformat() if self.changed_at else None
        return data


def consumers_of(runtime: Runtime, key: str, major: int) -> list[str]:
    """Live products (``key@major``) whose input ports read ``key`` major ``major``."""
    found = {
        f"{e.consumer}@{e.consumer_major}" for e in edges(runtime) if (e.upstream, e.upstream_major) == (key, major)
    }
    return sorted(c for c in found if not c.startswith(f"{key}@"))


def lifecycle_state(runtime: Runtime, key: str, major: int | None = None) -> LifecycleState:
    """The lifecycle of ``key`` at ``major`` (default: the newest deployed major)."""
    if major is None:
        major = DeployedProduct.load(runtime, key).record.major
    recorded = runtime.state.major_state(key, major)
    versions = [v for v in runtime.state.versions(key) if v.major == major]
    retention = DeployedProduct(versions[0]).spec.retention if versions else None
    return LifecycleState(
        product=key,
        major=major,
        status=recorded.status,
        sunset=date.fromisoformat(recorded.sunset) if recorded.sunset else None,
        successor=recorded.successor,
        reason=recorded.reason,
        retention=recorded.details.get("retention", retention),
        changed_at=from_us(recorded.updated_us) if recorded.updated_us else None,
        consumers=consumers_of(runtime, key, major),
        details=recorded.details,
    )


def deprecate(
    runtime: Runtime,
    ref: str,
    *,
    sunset: date,
    successor: str | None = None,
    major: int | None = None,
    reason: str | None = None,
) -> LifecycleState:
    """Mark a major deprecated with a sunset date (and successor); notify its consumers."""
    product = DeployedProduct.load(runtime, ref, major=major)
    key, major = product.key, product.record.major
    if successor is not None:
        try:
            parse_address(successor)
        except ValueError as exc:
            raise DeployError(f"successor: {exc}") from None
    consumers = consumers_of(runtime, key, major)
    message = f"dp://{key}@{major} is deprecated; it stops serving after {sunset.isoformat()}"
    message += f"; move to {successor}" if successor else ""
    message += f" ({reason})" if reason else ""
    with runtime.state.transaction() as conn:
        runtime.state.set_major_state(
            conn,
            MajorState(key, major, "deprecated", sunset.isoformat(), successor, reason, now_us(), {}),
        )
        for consumer in consumers:
            runtime.state.add_notice(conn, consumer.split("@")[0], key, major, "deprecated", message)
    return lifecycle_state(runtime, key, major)
