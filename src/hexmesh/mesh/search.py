"""Ranked, typo-tolerant full-text search over index entries, with facets and filters.

Words are ranked with BM25F (:mod:`hexmesh.mesh.ranking`; names, tags and concepts weigh more
than long docs); "quoted phrases" are matched by an in-memory SQLite FTS5 table, which knows
word positions. A word typed while searching also matches the words it starts; a word that is
not in the vocabulary at all is replaced by the known words a small edit distance away, so
"lisener" finds "listener". Facet counts are computed with numpy over the matching products;
each facet ignores its own filter, so the UI can offer the other values.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hexmesh.mesh.entries import ProductEntry
from hexmesh.mesh.facets import Facet, Mask
from hexmesh.mesh.fuzzy import Vocabulary
from hexmesh.mesh.query import FILTERS, Query, parse_query, tokens
from hexmesh.mesh.ranking import Bm25, Vector

__all__ = ["FACETS", "Hit", "SearchIndex", "SearchResult"]

FACETS: tuple[str, ...] = tuple(FILTERS)
_COLUMNS = ("name", "domain", "tags", "concepts", "fields", "description", "owner", "docs")
_WEIGHTS = (10.0, 4.0, 5.0, 4.0, 3.0, 2.0, 2.0, 1.0)
#: A word found only as a prefix or as a correction counts less than the word itself.
_PREFIX, _FUZZY, _MAX_EXPANSION = 0.8, 0.7, 30
_INSERT = f"insert into products (rowid, {', '.join(_COLUMNS)}) values (?{', ?' * len(_COLUMNS)})"


@dataclass
class Hit:
    """One matching product; higher ``score`` is better."""

    entry: ProductEntry
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.entry.key, "score": round(self.score, 4), "entry": self.entry.to_dict()}


@dataclass
class SearchResult:
    """A page of hits, the total, facet counts and the spelling corrections applied."""

    query: Query
    hits: list[Hit]
    total: int
    facets: dict[str, dict[str, int]]
    corrections: dict[str, list[str]] = field(default_factory=dict)
    relaxed: bool = False
    """True when no product had every word, so products with any of them were returned."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query.text,
            "total": self.total,
            "hits": [h.to_dict() for h in self.hits],
            "facets": self.facets,
            "corrections": self.corrections,
            "relaxed": self.relaxed,
        }


class SearchIndex:
    """Search over index entries; ``put`` replaces a product's entry. Thread-safe."""

    def __init__(self, entries: Iterable[ProductEntry] = ()) -> None:
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(
            f"create virtual table products using fts5({', '.join(_COLUMNS)}, "
            "tokenize = 'unicode61 remove_diacritics 2')"
        )
        self._lock = threading.RLock()
        self._rows: list[ProductEntry | None] = []
        self._by_key: dict[str, int] = {}
        self._bm25 = Bm25()
        self._vocabulary = Vocabulary()
        self._facets: dict[str, Facet] | None = None
        self._by_name: list[int] | None = None
        self.put_all(entries)

    def __len__(self) -> int:
        return len(self._by_key)

    def put_all(self, entries: Iterable[ProductEntry]) -> None:
        with self._lock, self._db:
            for entry in entries:
                self._put(entry)

    def put(self, entry: ProductEntry) -> None:
        self.put_all([entry])

    def remove(self, key: str) -> None:
        with self._lock, self._db:
            row = self._by_key.pop(key, None)
            if row is not None:
                self._drop(row)

    def _drop(self, row: int) -> None:
        self._db.execute("delete from products where rowid = ?", (row + 1,))
        self._bm25.remove(row)
        self._rows[row] = None
        self._facets, self._by_name = None, None

    def _put(self, entry: ProductEntry) -> None:
        old = self._by_key.get(entry.key)
        if old is not None:
            self._drop(old)
        row = len(self._rows)
        self._rows.append(entry)
        self._by_key[entry.key] = row
        texts = _texts(entry)
        self._db.execute(_INSERT, (row + 1, *texts))
        words = [tokens(text) for text in texts]
        self._bm25.add(row, list(zip(words, _WEIGHTS, strict=True)))
        self._vocabulary.add(word for column in words for word in column)
        self._facets, self._by_name = None, None

    def search(self, text: str | Query, *, limit: int = 20, offset: int = 0) -> SearchResult:
        """Products matching ``text`` (query syntax in :mod:`hexmesh.mesh.query`), best first.

        Raises:
            SearchSyntaxError: the query cannot be parsed.
        """
        query = parse_query(text) if isinstance(text, str) else text
        with self._lock:
            size = len(self._rows)
            facets = self._facets or self._build_facets()
            corrections: dict[str, list[str]] = {}
            relaxed = False
            if query.terms:
                clauses = [self._clause(term, size, corrections) for term in query.terms]
                matched = np.logical_and.reduce([m for m, _ in clauses])
                if not matched.any() and len(clauses) > 1:
                    matched, relaxed = np.logical_or.reduce([m for m, _ in clauses]), True
                scores = np.sum([s for _, s in clauses], axis=0)
            else:
                matched = np.zeros(size, dtype=bool)
                matched[[r for r, e in enumerate(self._rows) if e is not None]] = True
                scores = np.zeros(size)
            masks = {key: self._filter_mask(facets[key], query, key, size) for key in FACETS}
            counts = {
                key: facets[key].counts(np.logical_and.reduce([matched, *(m for k, m in masks.items() if k != key)]))
                for key in FACETS
            }
            keep = np.logical_and.reduce([matched, *masks.values()])
            rows = np.flatnonzero(keep) if query.terms else self._sorted_by_key(keep)
            page = self._page(rows, scores, offset + limit)[offset:] if query.terms else rows[offset : offset + limit]
            hits = [Hit(self._entry(int(r)), float(scores[r])) for r in page]
            return SearchResult(query, hits, len(rows), counts, corrections, relaxed and bool(len(rows)))

    @staticmethod
    def _page(rows: np.ndarray[Any, Any], scores: Vector, count: int) -> np.ndarray[Any, Any]:
        """The ``count`` best rows, best first (ties by insertion order)."""
        if len(rows) > count:
            best = np.argpartition(-scores[rows], count - 1)[:count]
            rows = np.sort(rows[best])
        return rows[np.argsort(-scores[rows], kind="stable")]

    def _sorted_by_key(self, keep: Mask) -> np.ndarray[Any, Any]:
        if self._by_name is None:
            self._by_name = [r for _, r in sorted((e.key, r) for r, e in enumerate(self._rows) if e)]
        order = np.asarray(self._by_name, dtype=np.int64)
        return order[keep[order]]

    def _entry(self, row: int) -> ProductEntry:
        entry = self._rows[row]
        assert entry is not None  # removed rows are never alive, so they never match
        return entry

    def _filter_mask(self, facet: Facet, query: Query, key: str, size: int) -> Mask:
        mask = np.ones(size, dtype=bool)
        if key in query.include:
            mask &= facet.mask(query.include[key], size)
        if key in query.exclude:
            mask &= ~facet.mask(query.exclude[key], size)
        return mask

    def _build_facets(self) -> dict[str, Facet]:
        self._facets = {key: Facet(self._rows, key) for key in FACETS}
        return self._facets

    def _clause(self, term: list[str], size: int, corrections: dict[str, list[str]]) -> tuple[Mask, Vector]:
        """Rows matching one word or phrase, and their scores."""
        if len(term) > 1:
            phrase = '"' + " ".join(term) + '"'
            found = self._db.execute("select rowid from products where products match ?", (phrase,))
            mask = np.zeros(size, dtype=bool)
            mask[[rowid - 1 for (rowid,) in found]] = True
            return mask, np.where(mask, np.sum([self._bm25.score(w, size) for w in term], axis=0), 0.0)
        word = term[0]
        options = [(word, 1.0)]
        if len(word) >= 3:
            options += [(w, _PREFIX) for w in self._vocabulary.starting(word, _MAX_EXPANSION) if w != word]
        if len(options) == 1 and word not in self._vocabulary:
            close = self._vocabulary.similar(word)
            if close:
                corrections[word] = close
                options = [(w, _FUZZY) for w in close]
        score = np.zeros(size)
        for option, weight in options:
            np.maximum(score, weight * self._bm25.score(option, size), out=score)
        return score > 0, score


def _texts(entry: ProductEntry) -> tuple[str, ...]:
    fields = [
        f"{port.name} {port.description} "
        + " ".join(f"{f.name} {f.description} {' '.join(f.tags)}" for f in port.fields)
        for port in entry.ports
    ]
    return (
        entry.name,
        entry.domain,
        " ".join(entry.tags),
        " ".join(entry.concepts),
        " ".join(fields),
        entry.description,
        " ".join((entry.owner, *entry.contacts)),
        entry.docs,
    )
