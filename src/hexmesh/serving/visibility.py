"""What one caller may see of the mesh: this node's products as its policies let the caller discover them.

The hub's index holds this node's products as their owners see them. Every page and mesh API
answer reads through a :class:`Visibility` instead (on a node without ``--auth``, that of the
unrestricted principal, whom every policy lets see everything): a
product the caller may not discover is left out, and of the others only the ports and columns
it may discover are kept. Entries of peers stay as their node disclosed them, but a link or an
input that points at one of this node's hidden products, ports or columns is cut from every
entry, so no edge of the graph or the lineage names what is hidden.

Decisions come from the sidecar's cached policy deciders; nothing is described again: the hub's
entries are filtered, and search indexes of filtered entries are shared between callers who see
the same (see :meth:`MeshHub.index_of`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from hexmesh.errors import NotFoundError
from hexmesh.governance import Principal
from hexmesh.mesh import (
    FieldEntry,
    InputEntry,
    KnowledgeGraph,
    PortEntry,
    ProductEntry,
    ProductLineage,
    Registry,
    SearchResult,
    semantic,
)
from hexmesh.mesh.search import SearchIndex
from hexmesh.mesh.semantic import Mode
from hexmesh.product import DeployedProduct
from hexmesh.product.policy import one_request
from hexmesh.serving.disclosure import discoverable_ports, may_control, may_discover, visible_document
from hexmesh.serving.hub import MeshHub
from hexmesh.spec import parse_address

__all__ = ["Visibility", "visibility"]

#: Port name to the names of the columns the caller may discover, per visible local product.
Columns = Mapping[str, Mapping[str, frozenset[str]]]


@dataclass
class Visibility:
    """The mesh as one caller may see it."""

    hub: MeshHub
    principal: Principal
    registry: Registry
    hidden: frozenset[str] = frozenset()
    """This node's products the caller may not discover."""
    columns: Columns = field(default_factory=dict)
    owned: frozenset[str] = frozenset()
    """This node's products the caller controls: only they show where their inputs read from."""

    @cached_property
    def entries(self) -> list[ProductEntry]:
        return list(self.registry)

    @cached_property
    def index(self) -> SearchIndex:
        return self.hub.index_of(self.entries)

    @cached_property
    def graph(self) -> KnowledgeGraph:
        return KnowledgeGraph(self.entries)

    @cached_property
    def lineage(self) -> ProductLineage:
        return ProductLineage(self.entries)

    def entry(self, key: str) -> ProductEntry:
        """The entry of ``key``; a hidden product is as unknown as a missing one (404)."""
        found = self.registry.get(key)
        if found is None:
            known = ", ".join(e.key for e in self.entries) or "none you may see"
            raise NotFoundError(f"no product {key!r} in the mesh index; known: {known}")
        return found

    def search(self, text: str, mode: Mode, limit: int, offset: int = 0) -> SearchResult:
        """Search the products the caller may see; ``mode`` embedding or hybrid needs the ``semantic`` extra.

        Entries are embedded as the caller sees them, so a hidden column never pulls a product up.
        """
        federation = self.hub.federation
        if mode == "keyword":
            return self.index.search(text, limit=limit, offset=offset)
        federation.semantic_ready()
        assert federation.embeddings is not None
        return semantic.search(self.index, federation.embeddings, text, mode=mode, limit=limit, offset=offset)

    def sees(self, address: str) -> bool:
        """Whether an address (``dp://d/p[/port][#field]``) names nothing hidden from the caller."""
        try:
            parsed = parse_address(address)
        except ValueError:
            return True  # not an address of this node's products
        key = parsed.product_key
        if key in self.hidden:
            return False
        ports = self.columns.get(key)
        if ports is None or parsed.port is None:
            return True  # a peer's product, or the product itself
        shown = ports.get(parsed.port)
        return shown is not None and (parsed.field is None or parsed.field in shown)

    def sees_column(self, key: str, port: str, column: str) -> bool:
        return self.sees(f"dp://{key}/{port}#{column}")

    def rejected(self, messages: Iterable[str]) -> list[str]:
        """Rejection messages of this node's documents, without those naming a hidden product."""
        return [m for m in messages if not any(key in m for key in self.hidden)]

    def documents(
        self,
        entry: ProductEntry,
        document: dict[str, Any],
        observability: dict[str, Any],
        product: DeployedProduct | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A local product's discovery and observability documents without what the caller may not see.

        ``product`` is the major the documents describe (default: the newest live one); its
        policies decide.

        Besides hidden ports and columns: links to hidden things, quality checks naming a hidden
        column, the access rules (they name columns and people) and, unless the caller owns the
        product, the error text of failed runs (it may quote data).
        """
        node = self.hub.node
        if product is None:
            product = node.product(*entry.key.split("/", 1))
        shown = dict(visible_document(node, self.principal, document, product))  # a copy: the node caches the original
        unseen = {
            p.name: {f.name for f in p.fields if not self.sees_column(entry.key, p.name, f.name)}
            for p in (self.hub.federation.registry.get(entry.key) or entry).ports
        }
        ports = {p.name for p in entry.ports}
        shown["hexmesh:quality"] = [
            {**run, "hexmesh:checks": [c for c in run.get("hexmesh:checks") or [] if _shows(c, ports, unseen)]}
            for run in shown.get("hexmesh:quality") or []
            if isinstance(run, dict)
        ]
        shown = self.without_hidden_links(shown)
        access = shown.get("hexmesh:access")
        if isinstance(access, dict):
            shown["hexmesh:access"] = {k: v for k, v in access.items() if k != "hexmesh:policies"}
        addresses = {f"{entry.address}/{p}" for p in ports}
        owner = node.policies.decider(product).decide(self.principal, "control").allowed
        runs = observability.get("runs", [])
        observed = {
            **observability,
            "ports": [p for p in observability.get("ports", []) if p.get("address") in addresses],
            "runs": [r if owner or not r.get("error") else {**r, "error": "failed (the owners see why)"} for r in runs],
        }
        return shown, observed

    def without_hidden_links(self, document: dict[str, Any]) -> dict[str, Any]:
        """A discovery document (this node's or a peer's) without links or inputs to what is hidden here."""
        datasets = document.get("dcat:servesDataset")
        return {
            **{k: v for k, v in document.items() if k != "hexmesh:lineage"},  # the index entry's inputs, cut, say it
            "dcat:servesDataset": [
                {**d, "hexmesh:schema": [self._cut_links(f) for f in d.get("hexmesh:schema") or []]}
                for d in (datasets if isinstance(datasets, list) else [])
                if isinstance(d, dict)
            ],
        }

    def _cut_links(self, column: Any) -> Any:
        links = column.get("hexmesh:links") if isinstance(column, dict) else None
        if not isinstance(links, list):
            return column
        return {**column, "hexmesh:links": [link for link in links if isinstance(link, str) and self.sees(link)]}


def visibility(hub: MeshHub, principal: Principal) -> Visibility:
    """The mesh as ``principal`` may see it."""
    source = list(hub.federation.registry)
    node = hub.node
    hidden, columns = set(), {}
    with one_request():
        deployed = node.deployed()
        decided = {
            key: (discoverable_ports(node, principal, product), may_discover(node, principal, product))
            for key, product in deployed.items()
        }
        owned = frozenset(key for key, product in deployed.items() if may_control(node, principal, product))
    for key, (ports, may) in decided.items():
        # A port it may discover shows the product; else it may still see it exists, to ask for access.
        if not ports and not may:
            hidden.add(key)
            continue
        columns[key] = {port: frozenset(schema.names) for port, schema in ports.items()}
    local = hub.federation.node_url
    # An indexed product of this node that is no longer deployed is not shown to anyone filtered.
    hidden |= {e.key for e in source if e.node_url == local and e.key not in columns}
    seen = Visibility(hub, principal, Registry(), frozenset(hidden), columns, owned)
    for entry in source:
        if entry.key not in seen.hidden:
            seen.registry.put(_trimmed(entry, seen, local))
    return seen


def _trimmed(entry: ProductEntry, seen: Visibility, local: str) -> ProductEntry:
    ports = entry.ports
    if entry.node_url == local:
        shown = seen.columns.get(entry.key, {})
        ports = tuple(p for p in ports if p.name in shown)
    owner = entry.node_url == local and entry.key in seen.owned
    return replace(
        entry,
        ports=tuple(_port(entry.key, p, seen) for p in ports),
        inputs=tuple(_input(i, seen, owner) for i in entry.inputs),
    )


def _port(key: str, port: PortEntry, seen: Visibility) -> PortEntry:
    fields = [f for f in port.fields if seen.sees_column(key, port.name, f.name)]
    names = {f.name for f in fields}
    return replace(
        port,
        fields=tuple(_field(f, seen) for f in fields),
        primary_key=tuple(k for k in port.primary_key if k in names),
    )


def _field(column: FieldEntry, seen: Visibility) -> FieldEntry:
    links = tuple(link for link in column.links if seen.sees(link))
    return column if links == column.links else replace(column, links=links)


def _input(port: InputEntry, seen: Visibility, owner: bool) -> InputEntry:
    """An input as the caller may see it, built from what it may see (an allow-list).

    Its name always; the upstream port it reads when the caller may see that port; an operational
    source (a folder, a database table) only for the product's owners: source paths are the
    server's business, as the discovery document already keeps them from everyone else.
    """
    upstream = port.from_ if port.from_ is not None and seen.sees(port.from_) else None
    return InputEntry(port.name, from_=upstream, source=port.source if owner else None)


def _shows(check: Any, ports: set[str], unseen: Mapping[str, set[str]]) -> bool:
    """Whether a quality check is about a visible port and names none of its hidden columns."""
    if not isinstance(check, dict) or check.get("port") not in ports:
        return False
    text = f"{check.get('check', '')} {check.get('detail', '')}"
    return not any(re.search(rf"\b{re.escape(name)}\b", text) for name in unseen.get(str(check["port"]), ()))
