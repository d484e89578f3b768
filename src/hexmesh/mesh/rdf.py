"""Export the knowledge graph as RDF: Turtle and JSON-LD, written without an RDF library.

Products are ``dcat:Dataset``s and ``hm:DataProduct``s named by their dp:// address; ports and
fields are named by their port and field addresses, so the IRIs are stable across nodes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hexmesh.mesh.entries import ProductEntry
from hexmesh.mesh.graph import KnowledgeGraph

__all__ = ["IRI", "NAMESPACES", "to_jsonld", "to_turtle", "triples"]

NAMESPACES = {
    "hm": "https://hexmesh.dev/ns#",
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "prov": "http://www.w3.org/ns/prov#",
}
_TYPE = "a"


class IRI(str):
    """An IRI object (a plain ``str`` object is a literal)."""

    __slots__ = ()


Triple = tuple[str, str, str]


def triples(graph: KnowledgeGraph) -> Iterator[Triple]:
    """Every statement of the graph: subject IRI, predicate (``prefix:name`` or ``a``), object."""
    for entry in sorted(graph.entries.values(), key=lambda e: e.key):
        yield from _product(entry)
    for concept in sorted(set(graph.concept.values())):
        yield IRI(concept), _TYPE, IRI("hm:Concept")


def _product(entry: ProductEntry) -> Iterator[Triple]:
    me = IRI(entry.address)
    yield me, _TYPE, IRI("hm:DataProduct")
    yield me, _TYPE, IRI("dcat:Dataset")
    yield me, "dct:identifier", entry.key
    yield me, "dct:title", entry.name
    yield me, "hm:domain", entry.domain
    yield me, "dcat:version", entry.version
    yield me, "hm:status", entry.status
    yield me, "hm:owner", entry.owner
    if entry.description:
        yield me, "dct:description", entry.description
    for tag in entry.tags:
        yield me, "dcat:keyword", tag
    if entry.node_url:  # with prov:wasDerivedFrom, shows an edge that crosses nodes
        yield me, "hm:servedBy", IRI(entry.node_url)
    for source in entry.inputs:
        if source.from_:
            yield me, "prov:wasDerivedFrom", IRI(source.from_)
    for port in entry.ports:
        port_iri = IRI(f"{entry.address}/{port.name}")
        yield me, "hm:outputPort", port_iri
        yield port_iri, _TYPE, IRI("hm:OutputPort")
        yield port_iri, "rdfs:label", port.name
        for f in port.fields:
            field_iri = IRI(f"{port_iri}#{f.name}")
            yield port_iri, "hm:field", field_iri
            yield field_iri, _TYPE, IRI("hm:Field")
            yield field_iri, "rdfs:label", f.name
            yield field_iri, "hm:logicalType", f.type
            if f.description:
                yield field_iri, "dct:description", f.description
            if f.classification:
                yield field_iri, "hm:classification", f.classification
            if f.concept:
                yield field_iri, "hm:concept", IRI(f.concept)
            for link in f.links:
                yield field_iri, "hm:linksTo", IRI(link)


def _compact(iri: str) -> str | None:
    prefix, _, name = iri.partition(":")
    return iri if prefix in NAMESPACES and name.isidentifier() else None


def _iri(value: str) -> str:
    """``<iri>``, with characters Turtle forbids in IRIs written as \\u escapes."""
    compact = _compact(value)
    if compact:
        return compact
    forbidden = set('<>"{}|^`\\')
    return "<" + "".join(f"\\u{ord(c):04X}" if c in forbidden or ord(c) <= 0x20 else c for c in value) + ">"


_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}


def _literal(value: str) -> str:
    body = "".join(_ESCAPES.get(c) or (f"\\u{ord(c):04X}" if ord(c) < 0x20 or ord(c) == 0x7F else c) for c in value)
    return f'"{body}"'


def to_turtle(graph: KnowledgeGraph) -> str:
    """The graph in Turtle, one subject per block."""
    lines = [f"@prefix {p}: <{iri}> ." for p, iri in NAMESPACES.items()]
    subject = None
    for s, p, o in triples(graph):
        obj = _iri(o) if isinstance(o, IRI) else _literal(o)
        if s != subject:
            if subject is not None:
                lines[-1] += " ."
            lines.append("")
            lines.append(f"{_iri(s)} {p} {obj}")
            subject = s
        else:
            lines[-1] += " ;"
            lines.append(f"    {p} {obj}")
    if subject is not None:
        lines[-1] += " ."
    return "\n".join(lines) + "\n"


def to_jsonld(graph: KnowledgeGraph) -> dict[str, Any]:
    """The graph as a JSON-LD document (``@context`` with the prefixes, one node per subject)."""
    nodes: dict[str, dict[str, Any]] = {}
    for s, p, o in triples(graph):
        node = nodes.setdefault(s, {"@id": s})
        if p == _TYPE:
            node.setdefault("@type", []).append(o)
        else:
            node.setdefault(p, []).append({"@id": str(o)} if isinstance(o, IRI) else o)
    return {"@context": dict(NAMESPACES), "@graph": list(nodes.values())}
