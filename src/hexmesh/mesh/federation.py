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
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from hexmesh.errors import HexmeshError
from hexmesh.mesh.catalog import ProductEntry
from hexmesh.mesh.documents import DocumentError, entry_from_document
from hexmesh.mesh.registry import Registry
from hexmesh.mesh.search import SearchIndex

__all__ = [
    "Federation",
    "PeerError",
    "PeerState",
    "RemoteSearchError",
    "cached_registry",
    "peer_url",
    "peers_from_env",
    "search_node",
]

log = logging.getLogger(__name__)

#: Where a node's discovery documents come from: a callable, so tests and servers choose.
LocalDocuments = Callable[[], Iterable[Any]]


class PeerError(HexmeshError):
    """A peer URL that cannot be a hexmesh node."""

    http_status = 400
    exit_code = 2


def peer_url(text: str) -> str:
    """``text`` as a peer base URL (scheme and host, no trailing slash), or PeerError."""
    url = text.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PeerError(
            f"peer {text!r} is not an http(s) URL; give the node's base URL, for example http://127.0.0.1:8081"
        )
    return url


def peers_from_env(value: str | None = None) -> list[str]:
    """Peers from ``HEXMESH_PEERS`` (comma-separated base URLs)."""
    raw = os.environ.get("HEXMESH_PEERS", "") if value is None else value
    return [peer_url(p) for p in raw.split(",") if p.strip()]


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
    ) -> None:
        self.node_url = node_url.rstrip("/")
        self.cache = cache
        self.timeout = timeout
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
        try:
            with httpx.Client(timeout=self.timeout) as client:
                if introduce:
                    client.post(url + "/api/peers", json={"url": self.node_url})
                known = client.get(url + "/api/peers")
                listed = known.json() if known.is_success else []
        except (httpx.HTTPError, ValueError) as exc:
            log.info("peer %s: no peer exchange (%s)", url, exc)
            return
        for item in listed if isinstance(listed, list) else []:
            try:
                other = peer_url(str(item.get("url", ""))) if isinstance(item, dict) else None
            except PeerError:
                continue
            if other and other != self.node_url:
                with self._lock:
                    self.peers.setdefault(other, PeerState(other))

    def announce(self, url: str) -> PeerState:
        """A node announced itself: remember it as a peer and pull it now."""
        url = peer_url(url)
        if url == self.node_url:
            raise PeerError(f"{url!r} is this node itself; announce another node's URL")
        with self._lock:
            self.peers.setdefault(url, PeerState(url)).announced = True
        # No introduction back: the announcing node already knows this one.
        return self.pull(url, introduce=False)

    def _fetch(self, url: str) -> list[Any]:
        with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
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


def search_node(url: str, query: str, *, limit: int = 20, timeout: float = 10.0) -> dict[str, Any]:
    """Search through a node's ``/api/search``; its problem documents become errors."""
    base = peer_url(url)
    try:
        response = httpx.get(base + "/api/search", params={"q": query, "limit": limit}, timeout=timeout)
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
