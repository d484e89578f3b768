"""Federation: a node's registry of its own products and of its peers', kept fresh and cached.

Nothing central is needed. Each node pulls the discovery documents of the peers it knows
(configured, or announced to it) and indexes them next to its own. A peer that cannot be
reached keeps its entries, flagged stale; a malformed document is rejected with a logged
reason and the index keeps what it had; a peer that answers again is fresh again. The index
is cached as JSON under the workspace, so a restarted node has the mesh before it pulls.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from hexmesh.errors import HexmeshError
from hexmesh.mesh import semantic
from hexmesh.mesh.admission import AnnounceLimitError, PeerError, PeerPolicy, peer_url
from hexmesh.mesh.documents import DocumentError, entry_from_document
from hexmesh.mesh.entries import ProductEntry
from hexmesh.mesh.registry import Registry
from hexmesh.mesh.search import SearchIndex, SearchResult
from hexmesh.mesh.semantic import Embeddings, Mode

__all__ = [
    "AnnounceLimitError",
    "Federation",
    "PeerError",
    "PeerPolicy",
    "PeerState",
    "RemoteSearchError",
    "cached_registry",
    "peer_url",
    "peer_urls",
    "search_node",
]

log = logging.getLogger(__name__)

#: Where a node's discovery documents come from: a callable, so tests and servers choose.
LocalDocuments = Callable[[], Iterable[Any]]


def peer_urls(values: Iterable[str]) -> list[str]:
    """Checked base URLs of configured peers (the ``peers`` setting, ``HEXMESH_PEERS``)."""
    return [peer_url(p) for p in values if p.strip()]


@dataclass
class PeerState:
    """What this node knows about one peer; ``status`` is new, ok or unreachable."""

    url: str
    status: str = "new"
    announced: bool = False
    last_ok: str | None = None
    last_error: str | None = None
    products: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    """Why documents of this peer were rejected in the last pull (one message each)."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Federation:
    """The registry and search index of one node; thread-safe; ``refresh`` pulls everything."""

    def __init__(
        self,
        node_url: str,
        *,
        local: LocalDocuments = tuple,
        peers: Iterable[str] = (),
        cache: Path | None = None,
        timeout: float = 3.0,
        policy: PeerPolicy | None = None,
        token: str | None = None,
        read_token: str | None = None,
        semantic: bool = False,
    ) -> None:
        self.node_url = node_url.rstrip("/")
        self.cache = cache
        self.timeout = timeout
        self.policy = policy or PeerPolicy()
        #: Sent when this node introduces itself to a peer (the peer's governance token).
        self.token = token
        #: Sent when this node reads peers' catalogs and documents: an API token of a principal the
        #: peers' policies let discover. Without it a peer that enforces policies shares its public ones.
        self.read_token = read_token
        self._announced_at: dict[str, float] = {}
        #: Product vectors for semantic search, made by the first semantic search (or at start
        #: with ``semantic=True``) in the background, then kept up to date by :meth:`embed`.
        self.embeddings: Embeddings | None = None
        self._local = local
        self._lock = threading.RLock()
        self.registry = Registry()
        self.peers: dict[str, PeerState] = {}
        self.local_rejected: list[str] = []
        self._load()
        for url in peers:
            self.peers.setdefault(peer_url(url), PeerState(peer_url(url)))
        self.peers.pop(self.node_url, None)
        self.index = SearchIndex(self.registry)
        if semantic:
            self.semantic_ready()

    # -- pulling ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-index local products, pull every peer, rebuild the search index, save the cache."""
        self.refresh_local()
        done: set[str] = set()
        while todo := [u for u in list(self.peers) if u not in done]:  # gossip may add peers
            for url in todo:
                done.add(url)
                self.pull(url)

    def refresh_local(self) -> None:
        try:
            documents = list(self._local())
        except Exception:  # a broken local product must not stop the mesh index
            log.exception("indexing this node's own products failed")
            return
        with self._lock:
            report = self.registry.ingest(documents, node_url=self.node_url)
            self.local_rejected = [str(e) for e in report.rejected]
            self._forget(self.node_url, keep=report.accepted)
            self._changed()

    def pull(self, url: str, *, introduce: bool = True) -> PeerState:
        """Fetch a peer's catalog and each product's discovery document; index the good ones.

        On first contact (and when the peer comes back) this node also introduces itself to
        the peer, and learns the peer's own peers, so a mesh needs only one seed per node.
        """
        state = self.peers.setdefault(url, PeerState(url))
        was_ok = state.status == "ok"
        try:
            documents = self._fetch(url)
        except (httpx.HTTPError, ValueError) as exc:
            with self._lock:
                stale = self.registry.mark_stale(url)
                state.status, state.last_error = "unreachable", f"{type(exc).__name__}: {exc}"
                log.warning("peer %s unreachable (%s); %d entries kept as stale", url, exc, len(stale))
                self._changed()
            return state
        with self._lock:
            accepted, rejected, keys = [], [], []
            for document in documents:
                key = _doc_key(document)
                report = self.registry.ingest([document], node_url=url)
                accepted += report.accepted
                rejected += [f"{key or 'a product'}: {e}" for e in report.rejected]
                keys += [key] if key else []
            state.status, state.last_ok, state.last_error = "ok", _now(), None
            state.rejected, state.products = rejected, sorted(accepted)
            # Products the peer no longer lists are gone; rejected ones keep their last good entry.
            self._forget(url, keep=[*accepted, *keys])
            self._changed()
        self._gossip(url, introduce=introduce and not was_ok)
        return state

    def _gossip(self, url: str, *, introduce: bool) -> None:
        """Learn the peer's peers; introduce this node to it (best effort: errors are logged)."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            with httpx.Client(timeout=self.timeout) as client:
                if introduce:
                    said = client.post(url + "/api/peers", json={"url": self.node_url}, headers=headers)
                    if said.status_code in (401, 403):
                        log.warning(
                            "peer %s refused this node's introduction (%s); set HEXMESH_MESH_TOKEN to "
                            "a governance token of that node",
                            url,
                            said.status_code,
                        )
                known = client.get(url + "/api/peers")
                listed = known.json() if known.is_success else []
        except (httpx.HTTPError, ValueError) as exc:
            log.info("peer %s: no peer exchange (%s)", url, exc)
            return
        for item in listed if isinstance(listed, list) else []:
            try:
                other = peer_url(str(item.get("url", ""))) if isinstance(item, dict) else None
                if other and other not in self.peers and other != self.node_url:
                    other = self.policy.admit(other)  # a peer's list is as untrusted as an announcement
            except PeerError as exc:
                log.info("peer %s listed a peer this node will not fetch: %s", url, exc)
                continue
            if other and other != self.node_url:
                with self._lock:
                    self.peers.setdefault(other, PeerState(other))

    def announce(self, url: str) -> PeerState:
        """A node announced itself: check its URL, remember it as a peer and pull it now.

        Raises:
            PeerError: the URL is malformed, this node itself, or outside the allowed networks.
            AnnounceLimitError: the same URL was announced less than ``policy.min_interval``
                seconds ago, or this node already follows ``policy.max_announced`` announced peers.
        """
        url = self.policy.admit(url)
        if url == self.node_url:
            raise PeerError(f"{url!r} is this node itself; announce another node's URL")
        with self._lock:
            now = time.monotonic()
            last = self._announced_at.get(url)
            if last is not None and now - last < self.policy.min_interval:
                wait = max(1, math.ceil(self.policy.min_interval - (now - last)))
                raise AnnounceLimitError(
                    f"{url} was announced {now - last:.0f} s ago and was pulled then; announce again in "
                    f"{wait} s (this node refreshes its peers every few seconds anyway)",
                    retry_after=wait,
                )
            announced = sum(p.announced for p in self.peers.values())
            if url not in self.peers and announced >= self.policy.max_announced:
                raise AnnounceLimitError(
                    f"this node already follows {announced} announced peers (HEXMESH_MAX_ANNOUNCED="
                    f"{self.policy.max_announced}); {url} was not added. Configure it in HEXMESH_PEERS instead",
                    retry_after=int(self.policy.min_interval) or 1,
                )
            self._announced_at[url] = now
            self.peers.setdefault(url, PeerState(url)).announced = True
        # No introduction back: the announcing node already knows this one.
        return self.pull(url, introduce=False)

    def read_headers(self) -> dict[str, str]:
        """What this node sends when it reads a peer: its read token, if it has one."""
        return {"Authorization": f"Bearer {self.read_token}"} if self.read_token else {}

    def _fetch(self, url: str) -> list[Any]:
        with httpx.Client(timeout=self.timeout, follow_redirects=False, headers=self.read_headers()) as client:
            catalog = client.get(url + "/", headers={"Accept": "application/ld+json"})
            catalog.raise_for_status()
            services = catalog.json().get("dcat:service", [])
            if not isinstance(services, list):
                raise ValueError(f"{url}/ is not a hexmesh catalog (dcat:service is not a list)")
            documents: list[Any] = []
            for service in services:
                link = service.get("@id") if isinstance(service, dict) else None
                if not isinstance(link, str) or not link.startswith(url + "/products/"):
                    documents.append(service)  # rejected, with its reason, by ingest
                    continue
                response = client.get(link)
                response.raise_for_status()
                documents.append(response.json())
            return documents

    # -- index upkeep ----------------------------------------------------------------------

    def _forget(self, node_url: str, keep: Iterable[str]) -> None:
        kept = set(keep)
        for entry in list(self.registry):
            if entry.node_url == node_url and entry.key not in kept:
                self.registry.remove(entry.key)

    def _changed(self) -> None:
        self.index = SearchIndex(self.registry)
        self._save()

    # -- semantic search (the optional extra) ------------------------------------------------

    def semantic_ready(self, *, wait: float = 0.0) -> bool:
        """Start loading the model and embedding the index (once); True when done.

        Raises:
            SemanticUnavailableError: the ``semantic`` extra is not installed, or did not load.
        """
        semantic.require()
        with self._lock:
            if self.embeddings is None:
                cache = self.cache.with_name("embeddings.npz") if self.cache is not None else None
                self.embeddings = Embeddings(cache=cache)
            embeddings = self.embeddings
        return embeddings.warm_up(self._entries, wait=wait)

    def embed(self) -> int:
        """Embed products that are new or changed since the last call (once warmed up)."""
        if self.embeddings is None or not self.embeddings.ready:
            return 0
        return self.embeddings.index(self._entries())

    def _entries(self) -> list[ProductEntry]:
        with self._lock:
            return list(self.registry)

    def search(self, text: str, *, mode: Mode = "keyword", limit: int = 20, offset: int = 0) -> SearchResult:
        """Search the index; ``mode`` embedding or hybrid needs the ``semantic`` extra (and,
        until :meth:`semantic_ready`, embeds in the caller's thread)."""
        if mode == "keyword":
            return self.index.search(text, limit=limit, offset=offset)
        self.semantic_ready()
        assert self.embeddings is not None
        return semantic.search(self.index, self.embeddings, text, mode=mode, limit=limit, offset=offset)

    def _save(self) -> None:
        if self.cache is None:
            return
        data = {
            "entries": self.registry.to_dicts(),
            "peers": [asdict(p) for p in self.peers.values()],
        }
        self.cache.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.cache.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=1), encoding="utf-8")
        temporary.replace(self.cache)  # atomic: a crash never leaves half a cache

    def _load(self) -> None:
        if self.cache is None or not self.cache.is_file():
            return
        try:
            data = json.loads(self.cache.read_text(encoding="utf-8"))
            peers = [PeerState(**p) for p in data.get("peers", [])]
            entries = data.get("entries", [])
        except (ValueError, TypeError, AttributeError) as exc:
            log.warning("mesh cache %s unreadable (%s); starting empty", self.cache, exc)
            return
        for document in entries:
            try:
                entry = entry_from_document(document, source=str(self.cache))
            except DocumentError as exc:
                log.warning("%s", exc)
                continue
            # Until a peer answers again, what the cache says about it may be old.
            fresh = entry.node_url == self.node_url
            self.registry.put(entry if fresh else entry.with_status(stale=True))
        self.peers = {p.url: p for p in peers}


def _doc_key(document: Any) -> str | None:
    """The product key a document is about, even when the document is malformed."""
    try:
        return entry_from_document(document).key
    except DocumentError:
        if not isinstance(document, dict):
            return None
        domain, name, ident = document.get("domain"), document.get("name"), document.get("dct:identifier")
        if isinstance(domain, str) and isinstance(name, str):
            return f"{domain}/{name}"
        if isinstance(ident, str) and ident.startswith("dp://"):
            return ident.removeprefix("dp://")
        return None


class RemoteSearchError(HexmeshError):
    """A node's search API refused the query, or the node did not answer."""

    exit_code = 12


def cached_registry(cache: Path, local: Iterable[ProductEntry]) -> Registry:
    """The index a node last cached, with ``local`` entries (fresh) on top; read-only."""
    registry = Federation("http://offline.invalid", cache=cache).registry
    for entry in local:
        cached = registry.get(entry.key)
        if cached is not None and cached.version == entry.version:  # keep what its node observed
            entry = replace(entry, slo_status=cached.slo_status, node_url=cached.node_url, last_seen=cached.last_seen)
        registry.put(entry)
    return registry


def search_node(
    url: str, query: str, *, limit: int = 20, mode: str = "keyword", timeout: float = 10.0, token: str | None = None
) -> dict[str, Any]:
    """Search through a node's ``/api/search`` (as ``token``'s principal, else anonymously); its
    problem documents become errors."""
    base = peer_url(url)
    params: dict[str, str | int] = {"q": query, "limit": limit, "mode": mode}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.get(base + "/api/search", params=params, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise RemoteSearchError(f"node {base} did not answer ({exc}); is `hexmesh serve` running?") from None
    try:
        body = response.json()
    except ValueError:
        raise RemoteSearchError(f"{base}/api/search did not answer JSON (HTTP {response.status_code})") from None
    if not response.is_success:
        detail = body.get("detail") if isinstance(body, dict) else None
        raise RemoteSearchError(str(detail or f"{base}/api/search answered HTTP {response.status_code}"))
    return dict(body)
