"""Plain records read from the state store."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "MajorState",
    "Notice",
    "PortRecord",
    "Publication",
    "RunRecord",
    "VersionRecord",
    "from_us",
    "now_us",
    "to_us",
]


def now_us() -> int:
    """Now, in microseconds since the epoch."""
    return time.time_ns() // 1000


def to_us(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000)


def from_us(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, tz=UTC)


@dataclass(frozen=True)
class VersionRecord:
    product: str
    version: str
    major: int
    spec_text: str
    spec_hash: str
    bundle: str
    origin: str
    status: str
    deployed_us: int


@dataclass(frozen=True)
class PortRecord:
    id: int
    product: str
    major: int
    name: str
    table_id: tuple[str, ...]
    baseline_snapshot: int


@dataclass(frozen=True)
class Publication:
    run_id: str
    port: str
    snapshot_id: int
    rows: int
    published_us: int


@dataclass(frozen=True)
class RunRecord:
    id: str
    product: str
    version: str
    major: int
    status: str
    trigger: str
    started_us: int
    finished_us: int | None
    host: str
    pid: int
    error: str | None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MajorState:
    """The lifecycle of one major version: active, deprecated or retired."""

    product: str
    major: int
    status: str = "active"
    sunset: str | None = None
    successor: str | None = None
    reason: str | None = None
    updated_us: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Notice:
    """A message to a consumer about an upstream major it reads."""

    id: int
    consumer: str
    upstream: str
    major: int
    kind: str
    message: str
    created_us: int
