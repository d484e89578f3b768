"""The index model: a normalized, JSON-serializable description of one data product.

Search, the knowledge graph and lineage all read these entries, never specs or HTTP
documents directly, so a product indexed from the local workspace and one pulled from a
peer node's discovery port look the same. ``to_dict``/``from_dict`` round-trip exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from hexmesh.spec import DataProductSpec

__all__ = [
    "SLO_STATUSES",
    "FieldEntry",
    "InputEntry",
    "PortEntry",
    "ProductEntry",
    "entry_from_spec",
]

#: SLO status of a product as the observability port reports it; "unknown" until it does.
SLO_STATUSES: tuple[str, ...] = ("met", "at-risk", "breached", "unknown")


@dataclass(frozen=True)
class FieldEntry:
    """One field of an output port, with its classification and semantic links."""

    name: str
    type: str = "string"
    required: bool = False
    description: str = ""
    classification: str | None = None
    concept: str | None = None
    links: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class PortEntry:
    """One output port: its schema, key and promises."""

    name: str
    description: str = ""
    primary_key: tuple[str, ...] = ()
    fields: tuple[FieldEntry, ...] = ()
    slo: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()

    def field(self, name: str) -> FieldEntry | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class InputEntry:
    """One input port: an upstream port address (``source`` is None) or an operational source."""

    name: str
    from_: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class ProductEntry:
    """What the mesh knows about one product; ``stale`` when its node stopped answering."""

    domain: str
    name: str
    version: str
    owner: str
    status: str = "active"
    description: str = ""
    docs: str = ""
    tags: tuple[str, ...] = ()
    contacts: tuple[str, ...] = ()
    inputs: tuple[InputEntry, ...] = ()
    ports: tuple[PortEntry, ...] = ()
    slo_status: str = "unknown"
    node_url: str | None = None
    last_seen: str | None = None
    """ISO 8601 time the product's discovery port last answered."""
    stale: bool = False

    @property
    def key(self) -> str:
        return f"{self.domain}/{self.name}"

    @property
    def address(self) -> str:
        return f"dp://{self.domain}/{self.name}"

    @property
    def classifications(self) -> tuple[str, ...]:
        found = {f.classification for p in self.ports for f in p.fields if f.classification}
        return tuple(sorted(found))

    @property
    def concepts(self) -> tuple[str, ...]:
        return tuple(sorted({f.concept for p in self.ports for f in p.fields if f.concept}))

    def port(self, name: str) -> PortEntry | None:
        return next((p for p in self.ports if p.name == name), None)

    def with_status(self, *, stale: bool | None = None, last_seen: str | None = None) -> ProductEntry:
        """A copy with the freshness flags changed (entries are immutable)."""
        return replace(
            self,
            stale=self.stale if stale is None else stale,
            last_seen=self.last_seen if last_seen is None else last_seen,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; ``entry_from_dict`` (in :mod:`hexmesh.mesh.documents`) reads it back."""
        return {
            "key": self.key,
            "domain": self.domain,
            "name": self.name,
            "version": self.version,
            "status": self.status,
            "owner": self.owner,
            "contacts": list(self.contacts),
            "description": self.description,
            "docs": self.docs,
            "tags": list(self.tags),
            "inputs": [{"name": i.name, "from": i.from_, "source": i.source} for i in self.inputs],
            "ports": [_port_dict(p) for p in self.ports],
            "sloStatus": self.slo_status,
            "nodeUrl": self.node_url,
            "lastSeen": self.last_seen,
            "stale": self.stale,
        }


def _port_dict(port: PortEntry) -> dict[str, Any]:
    return {
        "name": port.name,
        "description": port.description,
        "primaryKey": list(port.primary_key),
        "slo": dict(port.slo),
        "tags": list(port.tags),
        "fields": [
            {
                "name": f.name,
                "type": f.type,
                "required": f.required,
                "description": f.description,
                "classification": f.classification,
                "concept": f.concept,
                "links": list(f.links),
                "tags": list(f.tags),
            }
            for f in port.fields
        ],
    }


def entry_from_spec(
    spec: DataProductSpec,
    *,
    docs: str = "",
    node_url: str | None = None,
    last_seen: str | None = None,
    slo_status: str = "unknown",
) -> ProductEntry:
    """The index entry of a local product; ``docs`` is the text of its docs file, if any."""
    inputs = tuple(
        InputEntry(
            port.name,
            from_=port.from_,
            source=f"{port.source.format}:{port.source.path}" if port.source else None,
        )
        for port in spec.input_ports
    )
    ports = tuple(
        PortEntry(
            name=port.name,
            description=port.description,
            primary_key=tuple(port.primary_key),
            fields=tuple(
                FieldEntry(
                    name=f.name,
                    type=f.logical_type,
                    required=f.required,
                    description=f.description,
                    classification=f.classification,
                    concept=f.concept,
                    links=tuple(f.links),
                    tags=tuple(f.tags),
                )
                for f in port.properties
            ),
            slo=port.slo.model_dump(exclude_none=True) if port.slo else {},
            tags=tuple(port.tags),
        )
        for port in spec.output_ports
    )
    return ProductEntry(
        domain=spec.domain,
        name=spec.name,
        version=spec.version,
        owner=spec.owner,
        status=spec.status,
        description=spec.description,
        docs=docs,
        tags=tuple(spec.tags),
        contacts=tuple(spec.contacts),
        inputs=inputs,
        ports=ports,
        slo_status=slo_status,
        node_url=node_url,
        last_seen=last_seen,
    )
