"""The platform's own records (products, versions, runs, publications, locks) on SQLAlchemy."""

from hexmesh.infra.state.leases import Heartbeat
from hexmesh.infra.state.records import (
    MajorState,
    Notice,
    PortRecord,
    Publication,
    RunRecord,
    VersionRecord,
    from_us,
    now_us,
    to_us,
)
from hexmesh.infra.state.store import StateStore

__all__ = [
    "Heartbeat",
    "MajorState",
    "Notice",
    "PortRecord",
    "Publication",
    "RunRecord",
    "StateStore",
    "VersionRecord",
    "from_us",
    "now_us",
    "to_us",
]
