"""Encryption at rest wired into the runtime: restricted fields are sealed at publish and opened at every read.

A restricted field keeps its declared ``string`` column; each value is stored sealed with its
data subject's key as ``hxm1:`` + base64(nonce || AES-GCM ciphertext) (docs/adr/0006). Every
port reads through ``open_table`` (or ``open_batches``, ``open_events``, the SQL port's
``policy/opened.py``), in :mod:`hexmesh.product.policy.opening`, before policies mask anything, so no
surface serves ciphertext as if it were data, and a forgotten subject's values read as null in every
snapshot, past ones included.
Opened data must never be cached past a forget: caches of opened rows carry :func:`epoch`.

Opening costs one AES-GCM call per value, so readers open only the sealed columns they use: a
projection's, the ones a transformation's SQL names (:func:`unopened`), a SQL statement's.
Sealing makes or finds every subject's key in one bulk call, remembered in :class:`Keys`.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.expressions import BooleanExpression
from pyiceberg.expressions.visitors import bind, extract_field_ids

from hexmesh.cache import BoundedCache
from hexmesh.errors import ReadError, SchemaMismatchError
from hexmesh.governance.encryption import SEALED, restricted_fields, seal_text, sealed_mask, subject_field
from hexmesh.infra.keys import KeyStore, KeyStoreError, master_key
from hexmesh.infra.tables import iceberg_schema
from hexmesh.product.runtime import Runtime
from hexmesh.spec import OutputPort

__all__ = [
    "Sealing",
    "check_filter",
    "epoch",
    "is_sealed",
    "scan_columns",
    "seal_batches",
    "seal_table",
    "served_schema",
    "unopened",
]

#: At most this many unwrapped keys are remembered per runtime (32 bytes each).
_REMEMBERED = 1_000_000
_stores: weakref.WeakKeyDictionary[Runtime, Keys] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


class Keys:
    """A key store with a memory of the keys it unwrapped, emptied whenever a subject is forgotten.

    Every open asks the state database for its forget epoch first (one small query), so a
    forget in any process takes effect on the next read here, and a destroyed key never
    outlives it in this memory.
    """

    def __init__(self, store: KeyStore) -> None:
        self.store = store
        self._known: BoundedCache[str, bytes] = BoundedCache(_REMEMBERED)
        self._epoch: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def current(self) -> tuple[int, int]:
        """The forget epoch; clears the remembered keys when it moved."""
        now = self.store.epoch()
        with self._lock:
            if now != self._epoch:
                self._known.clear()
                self._epoch = now
        return now

    def keys(self, subjects: Iterable[str]) -> dict[str, bytes]:
        """The existing keys of ``subjects``: remembered ones, the rest in one bulk lookup."""
        found, missing = self._remembered(subjects)
        if missing:
            found.update(self._remember(self.store.keys(missing)))
        return found

    def ensure(self, subjects: Iterable[str]) -> dict[str, bytes]:
        """The keys of ``subjects``, remembered ones first, the rest looked up or made in one bulk call.

        What sealing looks up or makes is not remembered: a run's new subjects (a first run may
        bring a million) would fill this memory, and grow the run's, with keys no reader asked
        for; readers remember the keys they open with.

        Raises:
            KeyStoreError: a subject was forgotten (its key is never made again).
        """
        found, missing = self._remembered(subjects)
        if missing:
            found.update(self.store.ensure(missing))
        return found

    def _remembered(self, subjects: Iterable[str]) -> tuple[dict[str, bytes], set[str]]:
        wanted = set(subjects)
        self.current()
        found = self._known.get_many(wanted)
        return found, wanted - found.keys()

    def _remember(self, keys: dict[str, bytes]) -> dict[str, bytes]:
        self._known.put_many(keys)
        return keys


@dataclass(frozen=True)
class Sealing:
    """Which fields of a port are sealed, and the field whose value names each row's subject."""

    fields: tuple[str, ...]
    subject: str

    @classmethod
    def of(cls, port: OutputPort, *, strict: bool = True) -> Sealing | None:
        """The port's sealing, None when it has no restricted field.

        ``strict`` (publishing): a clear error when the port cannot be sealed; otherwise (reading)
        only what can have been sealed: string fields of a port that names its subject.
        """
        fields = restricted_fields(port)
        subject = subject_field(port)
        if not strict:
            fields = [f for f in fields if port.field(f).logical_type == "string"]  # type: ignore[union-attr]
            return cls(tuple(fields), subject) if fields and subject is not None else None
        if not fields:
            return None
        if subject is None:
            raise SchemaMismatchError(
                f"port {port.name!r} has restricted field(s) {', '.join(fields)}, which are encrypted per "
                "data subject, but no field names the subject: tag it with `tags: [subject]`"
            )
        for name in fields:
            kind = port.field(name).logical_type  # type: ignore[union-attr]
            if kind != "string":
                raise SchemaMismatchError(
                    f"restricted field {name!r} of port {port.name!r} is {kind}; restricted values are "
                    "stored sealed as text, so declare it `logicalType: string` (cast it in the transformation)"
                )
        return cls(tuple(fields), subject)


def is_sealed(port: OutputPort) -> bool:
    return bool(restricted_fields(port))


def key_store(runtime: Runtime) -> Keys:
    """The workspace's keys, opened once per runtime (the master key is checked when opened)."""
    db = runtime.state.db
    with _lock:
        keys = _stores.get(runtime)
        if keys is not None and keys.store.db is db:
            return keys
    keys = Keys(KeyStore(db, master_key(runtime.settings)))
    with _lock:
        _stores[runtime] = keys
    return keys


def epoch(runtime: Runtime, port: OutputPort) -> list[int]:
    """What a cache of ``port``'s opened rows must be keyed with: changes with every forget ([] if unsealed)."""
    return list(key_store(runtime).current()) if is_sealed(port) else []


# -- publish -------------------------------------------------------------------------------


def seal_batches(runtime: Runtime, port: OutputPort, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Each batch (conformed to ``port``) with its restricted values sealed, one batch at a time."""
    if Sealing.of(port) is None:
        yield from batches
        return
    for batch in batches:
        yield from seal_table(runtime, port, pa.Table.from_batches([batch])).to_batches()


def seal_table(runtime: Runtime, port: OutputPort, table: pa.Table) -> pa.Table:
    """``table`` (conformed to ``port``) with each restricted value sealed with its subject's key.

    Values that are already sealed for their row's subject and field (rows a backfill carries
    over as they are stored) are kept; anything else, even text that looks sealed, is sealed.
    The subjects' keys are fetched or made in one bulk call (remembered for later runs).

    Raises:
        KeyStoreError: a row with a restricted value belongs to a forgotten subject (nothing is published).
    """
    sealing = Sealing.of(port)
    if sealing is None or not table.num_rows:
        return table
    keys = key_store(runtime)
    subjects = table.column(sealing.subject)
    carried = _carried(keys.store, sealing, table)
    fresh = {name: _valid(table.column(name)) & ~carried[name] for name in sealing.fields}
    owners = pc.cast(subjects, pa.string())
    rows = np.logical_or.reduce(list(fresh.values()))
    needed = {s for s in pc.unique(owners.filter(pa.array(rows))).to_pylist() if s is not None}
    try:
        made = keys.ensure(needed)
    except KeyStoreError:
        gone = keys.store.forgotten(needed)
        if not gone:
            raise  # another key store problem (a wrong master key): its own message says what to do
        shredded = pc.fill_null(pc.is_in(owners, pa.array(sorted(gone), pa.string())), False)
        count = int(np.count_nonzero(rows & shredded.to_numpy(zero_copy_only=False)))
        raise KeyStoreError(
            f"port {port.name!r}: {count} row(s) hold restricted values ({', '.join(sealing.fields)}) of "
            f"{len(gone)} subject(s) forgotten with `hexmesh forget`; their keys are destroyed and are never "
            f"made again. Nothing was published. Drop those subjects' rows (or null their "
            f"{', '.join(sealing.fields)}) in the transformation, then run again."
        ) from None
    for name in sealing.fields:
        index = table.schema.get_field_index(name)
        column = table.column(name)
        if not carried[name].any():
            sealed = seal_text(column, subjects, made, name).cast(column.type)
        else:
            mask = pa.array(carried[name], type=pa.bool_())
            values = pc.if_else(mask, pa.scalar(None, column.type), column)
            sealed = pc.if_else(mask, column, seal_text(values, subjects, made, name).cast(column.type))
        table = table.set_column(index, table.schema.field(index), sealed)
    return table


def _valid(column: pa.ChunkedArray) -> np.ndarray:
    return pc.is_valid(column).to_numpy(zero_copy_only=False)  # type: ignore[no-any-return]


def _carried(store: KeyStore, sealing: Sealing, table: pa.Table) -> dict[str, np.ndarray]:
    """Per field, which values are genuine sealed values of their row (they open with the subject's key).

    A forgotten subject's sealed values cannot be checked, and need not be: they never open again.
    """
    marked = {
        name: pc.fill_null(pc.starts_with(pc.cast(table.column(name), pa.large_string()), SEALED), False).to_numpy(
            zero_copy_only=False
        )
        for name in sealing.fields
    }
    rows = np.logical_or.reduce(list(marked.values()))
    if not rows.any():
        return marked
    owners = pc.cast(table.column(sealing.subject), pa.string())
    suspects = {s for s in pc.unique(owners.filter(pa.array(rows))).to_pylist() if s is not None}
    keys = store.keys(suspects)
    gone = store.forgotten(suspects - keys.keys())
    shredded = pc.fill_null(pc.is_in(owners, pa.array(sorted(gone), pa.string())), False).to_numpy(zero_copy_only=False)
    out = {}
    for name in sealing.fields:
        opens = np.array(sealed_mask(table.column(name), table.column(sealing.subject), keys, name), dtype=bool)
        out[name] = marked[name] & (shredded | opens)
    return out


# -- read ----------------------------------------------------------------------------------


def check_filter(port: OutputPort, expression: BooleanExpression) -> None:
    """Refuse a row filter on a sealed field: the stored values are ciphertext, so it could never match."""
    sealed = set(restricted_fields(port))
    if not sealed:
        return
    schema = iceberg_schema(port)
    used = {schema.find_column_name(i) for i in extract_field_ids(bind(schema, expression, case_sensitive=True))}
    refused = sorted(n for n in used if n in sealed)
    if refused:
        raise ReadError(
            f"cannot filter port {port.name!r} on restricted field(s) {', '.join(refused)}: they are stored "
            "encrypted per subject, so a filter cannot compare them; read the rows and filter the result"
        )


def served_schema(port: OutputPort, schema: pa.Schema) -> pa.Schema:
    """The schema reads serve: a restricted field may be null (its subject was forgotten) even if required."""
    sealed = set(restricted_fields(port))
    return pa.schema([f.with_nullable(True) if f.name in sealed else f for f in schema], metadata=schema.metadata)


def unopened(port: OutputPort, referenced: Collection[str] | None) -> tuple[str, ...] | None:
    """The columns to read for a reader that names only ``referenced``: all but the sealed ones it never names.

    ``referenced``: lower-cased names (product/sql/references.py), None when the reader may use
    any column. Returns None when nothing can be left out, so the read stays a plain one.
    """
    sealing = Sealing.of(port, strict=False)
    if sealing is None or referenced is None:
        return None
    skipped = {f for f in sealing.fields if f.lower() not in referenced}
    if not skipped:
        return None
    return tuple(f.name for f in port.properties if f.name not in skipped)


def scan_columns(port: OutputPort, columns: Sequence[str] | None) -> list[str] | None:
    """The columns to scan for a projection: a sealed column needs its row's subject to open."""
    sealing = Sealing.of(port, strict=False) if columns else None
    if sealing is None or columns is None or sealing.subject in columns:
        return None if columns is None else list(columns)
    if any(c in sealing.fields for c in columns):
        return [*columns, sealing.subject]
    return list(columns)
