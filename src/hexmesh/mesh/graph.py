"""The knowledge graph: products, ports, fields and concepts, joined by semantic links.

A field carries a concept (an IRI) and may link to other products' fields. Fields that link to
one another, or to the same field, hold the same identifier: products having such fields can
be joined on them. Fields with the same concept join too when one of them is part of its port's
primary key (an identifier, not just a shared meaning like an age band), and the concept names
a kind of thing rather than a generic property (two fields that are both "an identifier" do
not identify the same things).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hexmesh.mesh.entries import ProductEntry
from hexmesh.spec import parse_address

__all__ = ["PREFIXES", "ConceptUse", "JoinPath", "JoinStep", "KnowledgeGraph"]

#: Compact concept names users may type (``schema:email``).
PREFIXES = {"schema": "https://schema.org/", "foaf": "http://xmlns.com/foaf/0.1/"}
#: Concepts too generic to join on: every key is an identifier, every row has a date.
GENERIC_CONCEPTS = frozenset(
    f"https://schema.org/{name}"
    for name in ("identifier", "name", "url", "description", "Date", "DateTime", "Text", "Number")
)
_STRENGTH = {"link": 0, "shared link": 1, "shared concept": 2}


@dataclass(frozen=True)
class ConceptUse:
    """A product carrying a concept, in which fields, and how (``concept`` or ``link``)."""

    product: str
    fields: tuple[str, ...]
    via: str


@dataclass(frozen=True)
class JoinStep:
    """Join ``left`` (``dp://d/p/port#field``) with ``right``, for ``reason``."""

    left: str
    right: str
    reason: str

    @property
    def products(self) -> tuple[str, str]:
        return parse_address(self.left).product_key, parse_address(self.right).product_key


@dataclass(frozen=True)
class JoinPath:
    """Products to go through, hop by hop, with the field pair of each hop."""

    steps: tuple[JoinStep, ...]

    @property
    def products(self) -> list[str]:
        return [self.steps[0].products[0], *(s.products[1] for s in self.steps)] if self.steps else []

    def to_dict(self) -> dict[str, Any]:
        return {
            "products": self.products,
            "steps": [{"left": s.left, "right": s.right, "reason": s.reason} for s in self.steps],
        }


def _field_address(text: str) -> str | None:
    try:
        address = parse_address(text)
    except ValueError:
        return None
    if address.port is None or address.field is None:
        return None
    return f"dp://{address.domain}/{address.product}/{address.port}#{address.field}"


def expand_concept(text: str) -> str:
    prefix, _, rest = text.partition(":")
    return PREFIXES[prefix] + rest if prefix in PREFIXES and not rest.startswith("//") else text


class KnowledgeGraph:
    """The graph of a set of index entries."""

    def __init__(self, entries: Iterable[ProductEntry]) -> None:
        self.entries = {e.key: e for e in entries}
        self.concept: dict[str, str] = {}
        self.links: dict[str, list[str]] = defaultdict(list)
        self.keys: set[str] = set()
        for entry in self.entries.values():
            for port in entry.ports:
                for f in port.fields:
                    address = f"{entry.address}/{port.name}#{f.name}"
                    if f.concept:
                        self.concept[address] = f.concept
                    if f.name in port.primary_key:
                        self.keys.add(address)
                    for link in f.links:
                        target = _field_address(link)
                        if target:
                            self.links[address].append(target)
        self._edges = self._join_edges()

    def products_about(self, concept: str) -> list[ConceptUse]:
        """Products whose fields carry ``concept`` (IRI or ``schema:name``), directly or by link."""
        iri = expand_concept(concept.strip())
        direct: dict[str, list[str]] = defaultdict(list)
        for address, value in self.concept.items():
            if value == iri:
                direct[parse_address(address).product_key].append(address)
        linked: dict[str, list[str]] = defaultdict(list)
        for address, targets in self.links.items():
            product = parse_address(address).product_key
            if product not in direct and any(self.concept.get(t) == iri for t in targets):
                linked[product].append(address)
        uses = [ConceptUse(p, tuple(sorted(f)), "concept") for p, f in direct.items()]
        uses += [ConceptUse(p, tuple(sorted(f)), "link") for p, f in linked.items()]
        return sorted(uses, key=lambda u: (u.via != "concept", u.product))

    def join_paths(self, a: str, b: str, *, max_hops: int = 3, limit: int = 5) -> list[JoinPath]:
        """Ways to join product ``a`` with ``b`` (keys or dp:// addresses), shortest first."""
        start, goal = parse_address(a).product_key, parse_address(b).product_key
        found: list[JoinPath] = []
        queue: deque[tuple[str, tuple[JoinStep, ...]]] = deque([(start, ())])
        while queue and len(found) < limit:
            product, steps = queue.popleft()
            if len(steps) >= max_hops:
                continue
            visited = {start, *(s.products[1] for s in steps)}
            for neighbour, step in self._edges.get(product, []):
                if neighbour == goal:
                    found.append(JoinPath((*steps, step)))
                elif neighbour not in visited:
                    queue.append((neighbour, (*steps, step)))
        return sorted(found, key=lambda p: (len(p.steps), max(_STRENGTH[s.reason] for s in p.steps)))[:limit]

    def _join_edges(self) -> dict[str, list[tuple[str, JoinStep]]]:
        """For each pair of products, the strongest field pair to join them on."""
        best: dict[tuple[str, str], JoinStep] = {}

        def offer(left: str, right: str, reason: str) -> None:
            lp, rp = parse_address(left).product_key, parse_address(right).product_key
            if lp == rp:
                return
            for key, step in (
                ((lp, rp), JoinStep(left, right, reason)),
                ((rp, lp), JoinStep(right, left, reason)),
            ):
                current = best.get(key)
                if current is None or _STRENGTH[reason] < _STRENGTH[current.reason]:
                    best[key] = step

        targets: dict[str, list[str]] = defaultdict(list)
        for source, links in self.links.items():
            for target in links:
                offer(source, target, "link")
                targets[target].append(source)
        for sources in targets.values():
            for i, left in enumerate(sources):
                for right in sources[i + 1 :]:
                    offer(left, right, "shared link")
        by_concept: dict[str, list[str]] = defaultdict(list)
        for address, concept in self.concept.items():
            by_concept[concept].append(address)
        for concept, fields in by_concept.items():
            if concept in GENERIC_CONCEPTS:
                continue
            for i, left in enumerate(fields):
                for right in fields[i + 1 :]:
                    if left in self.keys or right in self.keys:
                        offer(left, right, "shared concept")
        edges: dict[str, list[tuple[str, JoinStep]]] = defaultdict(list)
        for (left, right), step in sorted(best.items(), key=lambda kv: (_STRENGTH[kv[1].reason], kv[0])):
            edges[left].append((right, step))
        return edges
