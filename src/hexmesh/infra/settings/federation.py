"""Settings of federation: a node's peers, the tokens it reads them with, the registry."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hexmesh.errors import WorkspaceError
from hexmesh.infra.settings._field import Base, key

__all__ = ["ABOUT", "FederationSettings"]

#: What the section of the configuration reference says about these settings.
ABOUT = "Nodes of a mesh find each other's products: peers, announcements, the registry."


@dataclass(frozen=True)
class FederationSettings(Base):
    """How this node finds and reads its peers."""

    peers: tuple[str, ...] = key(
        (),
        "HEXMESH_PEERS",
        "Base URLs of other nodes of the mesh, comma-separated (their registries are federated; their "
        "products can be inputs).",
        group="federation",
    )
    peer_token: str = key(
        "",
        "HEXMESH_PEER_TOKEN",
        "The API token this node reads peers' discovery and ports with (its service identity there).",
        group="federation",
        secret=True,
    )
    peer_credentials: dict[str, str] = key(  # noqa: RUF009 - key() is a dataclasses.field
        None,
        "HEXMESH_PEER_CREDENTIALS",
        "Where this node finds the token its products read a peer's ports with (inputs across nodes): peer "
        "base URL → `env:VARIABLE` or the path of a file holding the token; a key `domain/name@URL` gives one "
        "product its own token. A peer without an entry is read with peer_token.",
        group="federation",
        shown="{}",
    )
    mesh_token: str = key(
        "",
        "HEXMESH_MESH_TOKEN",
        "The token nodes announce themselves to each other with.",
        group="federation",
        secret=True,
    )
    mesh_refresh: float = key(
        10.0, "HEXMESH_MESH_REFRESH", "Seconds between two refreshes of the federated registry.", group="federation"
    )
    semantic: bool = key(
        False,
        "HEXMESH_SEMANTIC",
        "Semantic search over the registry (needs the `semantic` extra).",
        group="federation",
    )
    peer_networks: tuple[str, ...] = key(
        (),
        "HEXMESH_PEER_NETWORKS",
        "CIDR ranges announced peers must resolve to, comma-separated (empty: any routable address).",
        group="federation",
    )
    announce_interval: float = key(
        30.0,
        "HEXMESH_ANNOUNCE_INTERVAL",
        "Seconds before the same peer URL may be announced again.",
        group="federation",
    )
    max_announced: int = key(
        256, "HEXMESH_MAX_ANNOUNCED", "How many announced peers one node follows.", group="federation"
    )

    def peer_credential(self, peer: str, product: str) -> str:
        """The token ``product`` (``domain/name``) reads ``peer``'s ports with: its own entry in
        peer_credentials, else the peer's, else peer_token ("" when none is set: it reads anonymously)."""
        entries = self.peer_credentials
        peer = peer.rstrip("/")
        source = entries.get(f"{product}@{peer}") or entries.get(peer)
        if not source:
            return self.peer_token
        if source.startswith("env:"):
            name = source.removeprefix("env:")
            value = os.environ.get(name, "").strip()
            if not value:
                raise WorkspaceError(
                    f"peer_credentials names the variable {name!r} for {peer}, but it is not set: export the token "
                    f"{product} reads that node with"
                )
            return value
        path = Path(source).expanduser()
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise WorkspaceError(
                f"peer_credentials names the token file {str(path)!r} for {peer}, which cannot be read "
                f"({exc.strerror or exc}); write the token {product} reads that node with there"
            ) from None
        if not value:
            raise WorkspaceError(f"the token file {str(path)!r} for {peer} (peer_credentials) is empty")
        return value
