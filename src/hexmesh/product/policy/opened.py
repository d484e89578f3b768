"""Sealed port tables for the SQL port's engine: opened once per snapshot and forget epoch, within a memory bound.

The policy package opens them (ADR 0026): the SQL port asks for a snapshot with the sealed columns a
statement shows opened, and its policy views (``policy.sql.SqlPolicy``) shape what leaves.

A port with restricted fields stores them sealed (product/sealing.py); a statement that shows
one of them needs the snapshot in memory with that column opened, one AES-GCM call per value.
Statements repeat, so the stored table and each column opened from it are kept, keyed by
(table, snapshot, forget epoch): a forget moves the epoch, so nothing opened before it is
served after it. A statement that shows no sealed column gets the lazy dataset as stored.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection, Hashable
from dataclasses import dataclass, field
from typing import TypeAlias

import pyarrow as pa
import pyarrow.dataset as ds

from hexmesh.product.policy.opening import open_table
from hexmesh.product.runtime import Runtime
from hexmesh.product.sealing import Sealing, epoch
from hexmesh.spec import OutputPort

__all__ = ["OpenedTables"]

ArrowSource: TypeAlias = "ds.Dataset | pa.Table"


@dataclass(frozen=True)
class _Entry:
    stored: pa.Table
    opened: dict[str, pa.ChunkedArray] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        return int(self.stored.nbytes) + sum(int(c.nbytes) for c in self.opened.values())


class OpenedTables:
    """Opened sealed snapshots shared by the sessions of one SQL port; ``max_bytes`` 0 keeps none."""

    def __init__(self, runtime: Runtime, max_bytes: int) -> None:
        self.runtime = runtime
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def needs_opening(self, port: OutputPort, shown: Collection[str]) -> bool:
        """Whether a statement showing ``shown`` reads a sealed column of ``port`` (so it needs rows opened)."""
        sealing = Sealing.of(port, strict=False)
        return sealing is not None and any(f in shown for f in sealing.fields)

    def source(
        self, port: OutputPort, table_id: tuple[str, ...], snapshot_id: int, stored: ArrowSource, shown: Collection[str]
    ) -> ArrowSource:
        """``stored`` (a snapshot of ``port``'s table ``table_id``) with the sealed columns in ``shown`` opened;
        other sealed columns stay as stored."""
        sealing = Sealing.of(port, strict=False)
        wanted = [f for f in sealing.fields if f in shown] if sealing is not None else []
        if sealing is None or not wanted:
            return stored  # nothing to open: DuckDB scans the files lazily
        # Read first: a forget from now on moves the epoch, so what is opened below is never served after it.
        key = (table_id, snapshot_id, tuple(epoch(self.runtime, port)))
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        if entry is None:
            entry = _Entry(stored if isinstance(stored, pa.Table) else stored.to_table())
        missing = [f for f in wanted if f not in entry.opened]
        if missing:
            opened = open_table(self.runtime, port, entry.stored.select([sealing.subject, *missing]))
            entry = _Entry(entry.stored, {**entry.opened, **{f: opened.column(f) for f in missing}})
            self._keep(key, entry)
        out = entry.stored
        for name in wanted:
            index = out.schema.get_field_index(name)
            # A forgotten value is null, even in a field declared required.
            out = out.set_column(index, out.schema.field(index).with_nullable(True), entry.opened[name])
        return out

    def _keep(self, key: tuple[tuple[str, ...], int, tuple[int, ...]], entry: _Entry) -> None:
        if entry.nbytes > self.max_bytes:
            return
        with self._lock:
            # Entries of the same snapshot under an older forget epoch are never asked for again.
            for old in [k for k in self._entries if k[:2] == key[:2] and k != key]:  # type: ignore[index]
                del self._entries[old]
            self._entries[key] = entry
            self._entries.move_to_end(key)
            total = sum(e.nbytes for e in self._entries.values())
            while total > self.max_bytes and len(self._entries) > 1:
                _, dropped = self._entries.popitem(last=False)
                total -= dropped.nbytes
