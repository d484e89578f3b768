"""Settings every node of a mesh must share: keys, the mesh secret, rules, operator tokens."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hexmesh.infra.settings._field import Base, key

__all__ = ["ABOUT", "GovernanceSettings"]

#: What the section of the configuration reference says about these settings.
ABOUT = "Secrets and rules every node of a mesh must share."


@dataclass(frozen=True)
class GovernanceSettings(Base):
    """Secrets and rules shared by a mesh's nodes."""

    master_key: str = key(
        "",
        "HEXMESH_MASTER_KEY",
        "The master key wrapping per-subject data keys (32 bytes, base64url). Every node of a cluster needs "
        "the same one.",
        group="governance",
        shown="`<home>/keys/master.key`, made on first use",
        secret=True,
    )
    secret: str = key(
        "",
        "HEXMESH_SECRET",
        "The mesh secret pseudonyms and token keys derive from (at least 16 bytes). Every node of a cluster "
        "needs the same one.",
        group="governance",
        shown="`<home>/mesh.secret`, made on first use",
        secret=True,
    )
    governance: str = key(
        "",
        "HEXMESH_GOVERNANCE",
        "The mesh's governance folder (`*.cedar`, `policies.yaml`, `rules.yaml`). Every node of a cluster "
        "needs the same rules.",
        group="governance",
        shown="<home>/governance",
    )
    tokens: str = key(
        "",
        "HEXMESH_TOKENS",
        "Operator tokens, `secret=governance,other=owner:sales/shop|sales/big` (also `<home>/tokens.yaml`).",
        group="governance",
        secret=True,
    )

    @property
    def governance_folder(self) -> Path:
        """The governance folder (it may not exist): ``governance`` or ``<home>/governance``."""
        return Path(self.governance).expanduser() if self.governance else self.home / "governance"
