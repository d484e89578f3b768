"""The node's view of the mesh: federation fed by this node's own discovery documents.

The mesh API and the web UI both read through a :class:`MeshHub`. Products of this node are
described in-process; products of peers are read from the peer's discovery and observability
ports, and when the peer does not answer, from the cached index entry (flagged stale).

The index holds this node's products in full; views take the caller's
:class:`~hexmesh.serving.visibility.Visibility`, which leaves out what it may not discover.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from hexmesh.cache import BoundedCache
from hexmesh.errors import HexmeshError, NotFoundError
from hexmesh.governance import UNRESTRICTED, AuthenticationError
from hexmesh.mesh import (
    ColumnSource,
    KnowledgeGraph,
    LineageError,
    ProductEntry,
    entry_from_spec,
    input_schemas,
    product_column_lineage,
)
from hexmesh.mesh.federation import Federation, PeerPolicy, peer_urls
from hexmesh.mesh.search import SearchIndex
from hexmesh.product import DeployedProduct
from hexmesh.product.policy import one_request
from hexmesh.serving.node import Node
from hexmesh.serving.observability import observability_report
from hexmesh.serving.standing import Standing, standings
from hexmesh.serving.transformation import Code, transformation
from hexmesh.spec import inside, parse_address

if TYPE_CHECKING:
    from hexmesh.serving.visibility import Visibility

__all__ = ["MeshHub", "ProductView", "concept_index"]

log = logging.getLogger(__name__)
#: Search indexes of filtered entries kept (callers who see the same share one).
_INDEXES = 16


@dataclass
class ProductView:
    """Everything a product page shows; ``document`` is None when its node is unreachable."""

    entry: ProductEntry
    local: bool
    document: dict[str, Any] | None
    observability: dict[str, Any] | None
    problem: str | None = None
    standing: Mapping[str, Standing] = field(default_factory=dict)
    """This node's products: where the viewer stands with each port (a peer's say nothing)."""
    code: Code | None = None
    """This node's products: the transformation as far as the viewer may see it."""
    major: int | None = None
    """The major shown when it is not the newest live one (``name@N``)."""


class MeshHub:
    """One per app: the federation, its refresh loop, and product views."""

    def __init__(self, node: Node, *, interval: float | None = None) -> None:
        self.node = node
        self.federation_url = node.endpoints.base_url.rstrip("/")
        settings = node.workspace.settings
        self.interval = interval or settings.mesh_refresh
        self.federation = Federation(
            node.endpoints.base_url,
            local=self.local_documents,
            peers=peer_urls(settings.peers),
            cache=settings.home / "mesh" / "registry.json",
            policy=PeerPolicy.from_settings(settings),
            token=settings.mesh_token or None,
            read_token=settings.peer_token or None,
            semantic=settings.semantic,
        )
        self._indexes: BoundedCache[str, SearchIndex] = BoundedCache(_INDEXES)

    # -- this node's own products ------------------------------------------------------------

    def local_documents(self) -> list[dict[str, Any]]:
        """This node's discovery documents; a product that cannot be described is indexed
        from its spec instead (logged), so one broken port never hides the others."""
        docs = []
        for product in self.node.workspace.deployed().values():
            try:
                docs.append(self._local_doc(product.key))
            except Exception as exc:
                log.warning("describing %s failed (%s); indexed from its spec", product.key, exc)
                docs.append(
                    entry_from_spec(product.spec, docs=_docs_text(product), node_url=self.federation_url).to_dict()
                )
        return docs

    # -- views (as one caller may see them) ----------------------------------------------------

    def refresh(self, seen: Visibility) -> None:
        """Re-index this node's products and pull every peer now, for a signed-in caller.

        Re-indexing fetches every peer and rebuilds the indexes: anonymous callers may not start
        it (on a node with ``--auth``); the refresh loop keeps the index current without them.
        """
        if not seen.principal.authenticated and seen.principal != UNRESTRICTED:
            raise AuthenticationError(
                "refreshing the registry needs a token (Authorization: Bearer hxm_…); the node re-indexes "
                "on its own every few minutes"
            )
        self.federation.refresh()

    def index_of(self, entries: list[ProductEntry]) -> SearchIndex:
        """A search index of ``entries``, shared by every caller who sees exactly these."""
        text = json.dumps([e.to_dict() for e in entries], sort_keys=True, default=str)
        digest = hashlib.sha256(text.encode()).hexdigest()
        return self._indexes.get_or_put(digest, lambda: SearchIndex(entries))

    def view(self, key: str, seen: Visibility, major: int | None = None) -> ProductView:
        """The product page's documents of ``key`` (its major ``major``, else the newest live one)."""
        entry = seen.entry(key)
        if entry.node_url == self.federation.node_url:
            return self._local_view(entry, seen, major)
        base = f"{entry.node_url}/products/{key}" + (f"@{major}" if major is not None else "")
        try:
            with httpx.Client(timeout=self.federation.timeout, headers=self.federation.read_headers()) as client:
                document = client.get(base).raise_for_status().json()
                observed = client.get(base + "/observability")
                observability = observed.json() if observed.is_success else None
        except (httpx.HTTPError, ValueError) as exc:
            return ProductView(entry, False, None, None, f"{entry.node_url} did not answer: {exc}")
        if not isinstance(document, dict):
            return ProductView(entry, False, None, None, f"{entry.node_url} did not answer a discovery document")
        return ProductView(entry, False, seen.without_hidden_links(document), observability)

    def _local_view(self, entry: ProductEntry, seen: Visibility, major: int | None) -> ProductView:
        document = observability = problem = code = None
        standing: dict[str, Standing] = {}
        domain, name = entry.key.split("/", 1)
        served = name if major is None else f"{name}@{major}"
        product = self.node.product(domain, served)  # NotFoundError: no such live major (404)
        try:
            with one_request():
                standing = standings(self.node, seen.principal, product)
                code = transformation(self.node, seen.principal, product)
            document = dict(self.node.discovery(domain, served).content)  # cached by the node, rebuilt on change
            observability = observability_report(self.node, domain, served, seen.principal)
            document, observability = seen.documents(entry, document, observability, product)
        except NotFoundError:
            raise
        except Exception as exc:  # show what the index has, and say what failed
            log.exception("describing %s failed", entry.key)
            problem = f"this node could not describe the product ({type(exc).__name__}: {exc})"
        return ProductView(entry, True, document, observability, problem, standing, code, major)

    def _local_doc(self, key: str) -> dict[str, Any]:
        domain, name = key.split("/", 1)
        return dict(self.node.discovery(domain, name).content)  # cached by the node, rebuilt on change

    def column_lineage(self, key: str, seen: Visibility) -> dict[str, Any]:
        """Column lineage of a product of this node, without columns hidden from the caller."""
        entry = seen.entry(key)
        if entry.node_url != self.federation.node_url:
            return {"available": False, "reason": f"{key} is served by {entry.node_url}"}
        domain, name = key.split("/", 1)
        product = self.node.product(domain, name)
        entries = {e.key: e for e in self.federation.registry}
        try:
            found = product_column_lineage(product.spec, product.bundle, input_schemas(product.spec, entries))
        except (LineageError, HexmeshError) as exc:
            # Who does not run the product gets the reason without the SQL it may quote.
            return {"available": False, "reason": str(exc) if key in seen.owned else str(exc).split(":")[0]}
        if not found:
            return {"available": False, "reason": "the transformation is not SQL"}
        reads = {p.name: p.from_ for p in product.spec.input_ports}

        def shown(source: ColumnSource) -> bool:
            upstream = reads.get(source.input)
            return upstream is None or seen.sees(f"{upstream}#{source.column}")

        ports: dict[str, Any] = {}
        for port, columns in found.items():
            rows = []
            for c in columns:
                if not seen.sees_column(key, port, c.output):
                    continue
                sources = [s for s in c.sources if shown(s)]
                row: dict[str, Any] = {
                    "output": c.output,
                    "kind": c.kind,
                    "sources": [{"input": s.input, "column": s.column} for s in sources],
                }
                if len(sources) < len(c.sources):  # how many input columns the caller may not see
                    row["hidden"] = len(c.sources) - len(sources)
                rows.append(row)
            if seen.sees(f"{entry.address}/{port}"):
                ports[port] = rows
        return {"available": True, "ports": ports}

    # -- background refresh ------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        # Own products are indexed before the first request; peers are pulled in the background.
        await asyncio.to_thread(self.federation.refresh_local)
        task = asyncio.create_task(self._refresh_forever(), name="hexmesh-federation")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _refresh_forever(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.federation.refresh)
                await asyncio.to_thread(self.federation.embed)  # new products, for semantic search
            except Exception:  # the loop must outlive one bad refresh
                log.exception("refreshing the mesh index failed")
            await asyncio.sleep(self.interval)


def concept_index(graph: KnowledgeGraph) -> list[dict[str, Any]]:
    """Every concept in the graph with the products whose fields carry it, most used first."""
    found: dict[str, set[str]] = defaultdict(set)
    for address, concept in graph.concept.items():
        found[concept].add(parse_address(address).product_key)
    rows = [{"concept": c, "products": sorted(p)} for c, p in found.items()]
    return sorted(rows, key=lambda r: (-len(r["products"]), r["concept"]))


def _docs_text(product: DeployedProduct) -> str:
    path = inside(product.bundle, product.spec.docs)
    return path.read_text(encoding="utf-8") if path is not None and path.is_file() else ""
