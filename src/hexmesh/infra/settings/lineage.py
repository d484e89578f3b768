"""Settings of lineage: where every run's OpenLineage events go."""

from __future__ import annotations

from dataclasses import dataclass

from hexmesh.infra.settings._field import Base, key

__all__ = ["ABOUT", "LineageSettings"]

#: What the section of the configuration reference says about these settings.
ABOUT = "OpenLineage run events of every run, for Marquez, DataHub or any OpenLineage consumer."


@dataclass(frozen=True)
class LineageSettings(Base):
    """Where OpenLineage events go."""

    openlineage_url: str = key(
        "",
        "HEXMESH_OPENLINEAGE_URL",
        "Where every run's OpenLineage events go: an HTTP endpoint (Marquez: `http://host:5000/api/v1/lineage`) "
        "or a file of JSON lines (`file:///path/events.jsonl`); empty: none are sent.",
        group="lineage",
    )
    openlineage_namespace: str = key(
        "hexmesh",
        "HEXMESH_OPENLINEAGE_NAMESPACE",
        "The OpenLineage namespace of this node's jobs and of its ports (datasets named by their dp:// address).",
        group="lineage",
    )
    openlineage_api_key: str = key(
        "",
        "HEXMESH_OPENLINEAGE_API_KEY",
        "Sent as `Authorization: Bearer <key>` to the HTTP endpoint, when it needs one.",
        group="lineage",
        secret=True,
    )
