"""The node's index of products: its own, and those read from peers' discovery documents.

A peer that stops answering keeps its entries, marked stale; a malformed document is rejected
with a logged reason and leaves the index as it was. Federation over HTTP (pulling peers) is
built on :meth:`Registry.ingest` and :meth:`Registry.mark_stale`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hexmesh.mesh.documents import DocumentError, entry_from_document
from hexmesh.mesh.entries import ProductEntry

__all__ = ["IngestReport", "Registry"]

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """What one batch of documents did to the index."""

    accepted: list[str] = field(default_factory=list)
    rejected: list[DocumentError] = field(default_factory=list)


class Registry:
    """Index entries by product key; the newest document for a key wins."""

    def __init__(self, entries: Iterable[ProductEntry] = ()) -> None:
        self._entries: dict[str, ProductEntry] = {}
        for entry in entries:
            self.put(entry)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[ProductEntry]:
        return iter(sorted(self._entries.values(), key=lambda e: e.key))

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def get(self, key: str) -> ProductEntry | None:
        return self._entries.get(key)

    def put(self, entry: ProductEntry) -> None:
        self._entries[entry.key] = entry

    def remove(self, key: str) -> None:
        self._entries.pop(key, None)

    def ingest(
        self, documents: Iterable[Any], *, node_url: str | None = None, now: datetime | None = None
    ) -> IngestReport:
        """Add every valid document (seen ``now``); reject and log the others, one by one."""
        seen = (now or datetime.now(UTC)).isoformat(timespec="seconds")
        report = IngestReport()
        for document in documents:
            try:
                entry = entry_from_document(document, node_url=node_url, source=node_url)
            except DocumentError as exc:
                log.warning("%s", exc)
                report.rejected.append(exc)
                continue
            self.put(entry.with_status(stale=False, last_seen=seen))
            report.accepted.append(entry.key)
        return report

    def mark_stale(self, node_url: str) -> list[str]:
        """Flag every entry served by ``node_url`` as stale (kept, not dropped); their keys."""
        keys = [e.key for e in self._entries.values() if e.node_url == node_url and not e.stale]
        for key in keys:
            self._entries[key] = self._entries[key].with_status(stale=True)
        return keys

    def to_dicts(self) -> list[dict[str, Any]]:
        """Every entry as JSON, sorted by key (for caching the index between restarts)."""
        return [entry.to_dict() for entry in self]
