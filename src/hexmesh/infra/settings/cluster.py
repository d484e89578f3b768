"""Settings of a node in a cluster: its name, which products it runs, its leases."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hexmesh.errors import WorkspaceError
from hexmesh.infra.settings._field import Base, key, variable_of

__all__ = ["ABOUT", "ClusterSettings"]

#: What the section of the configuration reference says about these settings.
ABOUT = (
    "Several nodes on the same PostgreSQL, object storage and NATS form one cluster: each run and each "
    "port's event emission happens on exactly one node, under a lease renewed by heartbeat."
)

#: A domain or ``domain/name``, with the spec's name pattern (hexmesh.spec.address, not imported:
#: settings load before any spec is needed).
_PLACED = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*(/[a-z][a-z0-9]*(-[a-z0-9]+)*)?$")


@dataclass(frozen=True)
class ClusterSettings(Base):
    """This node's place in its cluster."""

    node_name: str = key(
        "",
        "HEXMESH_NODE_NAME",
        "This node's name in leases, runs and logs.",
        group="cluster",
        shown="the host name",
    )
    placement: tuple[str, ...] = key(
        (),
        "HEXMESH_PLACEMENT",
        "Which products this node runs and emits events for: domains (`sales`) or products (`sales/shop`), "
        "comma-separated; empty runs all. Every node serves reads of every product.",
        group="cluster",
        shown="all",
    )
    lease_seconds: float = key(
        15.0,
        "HEXMESH_LEASE_SECONDS",
        "How long a run's or an emitter's lease lasts without a heartbeat: a killed node's work moves to "
        "another node after at most this long. Heartbeats come every third of it.",
        group="cluster",
    )

    def runs_here(self, product: str) -> bool:
        """Whether this node's placement includes ``product`` (``domain/name``)."""
        if not self.placement:
            return True
        domain = product.split("/", 1)[0]
        return product in self.placement or domain in self.placement

    def _check_cluster(self) -> None:
        for entry in self.placement:
            if not _PLACED.match(entry):
                raise WorkspaceError(
                    f"placement entry {entry!r} ({variable_of(self, 'placement')}) names neither a domain (sales) "
                    "nor a product (sales/shop): use lower-case names with '-', separated by one '/'"
                )
        if self.lease_seconds < 1:
            raise WorkspaceError(
                f"lease_seconds ({variable_of(self, 'lease_seconds')}) is {self.lease_seconds:g}; a lease shorter "
                "than a second would be lost between two heartbeats: use 1 or more (default 15)"
            )
