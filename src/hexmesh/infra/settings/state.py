"""Settings of the state store: where the platform keeps its own records."""

from __future__ import annotations

from dataclasses import dataclass

from hexmesh.infra.settings._field import Base, key

__all__ = ["ABOUT", "StateSettings"]

#: What the section of the configuration reference says about these settings.
ABOUT = "The platform's own records: products, versions, runs, publications, leases, tokens, audit."


@dataclass(frozen=True)
class StateSettings(Base):
    """Where the platform keeps its own records."""

    state_url: str = key(
        "",
        "HEXMESH_STATE_URL",
        "The state store: `sqlite:///file` or `postgresql://user@host/db` (shared by a cluster's nodes).",
        group="state",
        shown="sqlite:///<home>/state.db",
    )
