"""Sensors: does a product's source have something its last good run has not read?

The scheduler asks before a run (``trigger: {sources: …}``); it never reads data and never moves
a position. Each source kind answers from what the last good run recorded:

- **files** (a folder, including the landing folder of HTTP ingest): a file whose name, size
  or modification time is not in the position (hidden names and files within ``settle`` are not
  looked at, as when reading); a file the run found unreadable counts again only once rewritten;
  where files land in object storage too (``landing``), a landed object whose key is not;
- **PostgreSQL by cursor**: the cursor column's maximum is above the position (one query);
- **PostgreSQL CDC**: the slot holds a committed transaction past the position (a peek, which
  consumes nothing).

A source that cannot be reached is no signal (the run would fail the same way); the next pass
asks again. Each :class:`Signal` has a ``mark`` that changes whenever more arrives, so the
scheduler can wait until a source is quiet (debounce).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from hexmesh.errors import HexmeshError
from hexmesh.infra.storage import ObjectStore
from hexmesh.product.cdc import port_slot
from hexmesh.product.deployed import DeployedProduct
from hexmesh.product.inputs import origin
from hexmesh.product.landing import ObjectLanding
from hexmesh.product.pgoutput import Decoder, format_lsn, parse_lsn
from hexmesh.product.postgres_source import relation
from hexmesh.product.sources import expand_vars, list_files, resolve_path
from hexmesh.spec import Confinement, InputPort, PostgresSourceSpec, SourceSpec
from hexmesh.spec.model import SensorTrigger

__all__ = ["Signal", "sensed"]

log = logging.getLogger(__name__)
#: File names quoted in a reason, at most.
_NAMED = 3


@dataclass(frozen=True)
class Signal:
    """Something new on one input port's source: what (for people) and a mark (for debouncing)."""

    port: str
    what: str
    mark: str


def sensed(
    product: DeployedProduct,
    trigger: SensorTrigger,
    positions: dict[str, dict[str, Any]],
    confinement: Confinement,
    since_us: int,
    landing: ObjectStore | None = None,
) -> list[Signal]:
    """What is new on the watched sources since the positions of the last good run (started at ``since_us``).

    ``landing``: the object storage files land in (:func:`hexmesh.product.landing.lands_in_objects`).
    """
    signals = []
    for port in product.spec.input_ports:
        if port.source is None or (trigger.sources != "all" and port.name not in trigger.sources):
            continue
        before = positions.get(port.name)
        if before is not None and before.get("origin") != origin(port):
            before = None  # the source moved: everything there is new
        try:
            objects = ObjectLanding.of(landing, product.key, port.name) if landing is not None else None
            signal = _probe(product, port, before, confinement, since_us, objects)
        except (HexmeshError, OSError, psycopg.Error) as exc:
            log.info("sensor of %s/%s cannot look at its source: %s", product.key, port.name, exc)
            continue
        if signal is not None:
            signals.append(signal)
    return signals


def _probe(
    product: DeployedProduct,
    port: InputPort,
    before: dict[str, Any] | None,
    confinement: Confinement,
    since_us: int,
    objects: ObjectLanding | None,
) -> Signal | None:
    source = port.source
    if isinstance(source, SourceSpec):
        return _files(product, port.name, source, before, confinement, since_us, objects)
    if isinstance(source, PostgresSourceSpec) and source.mode == "cdc":
        return _changes(port.name, source, before, port_slot(product.key, product.record.major, port))
    if isinstance(source, PostgresSourceSpec) and source.cursor is not None:
        return _cursor(port.name, source, before)
    if before is None:
        return Signal(port.name, f"{port.name}: never read", "never")
    return None  # a source with no cursor cannot say what is new: cron or a request runs it


def _files(
    product: DeployedProduct,
    port: str,
    spec: SourceSpec,
    before: dict[str, Any] | None,
    confinement: Confinement,
    since_us: int,
    objects: ObjectLanding | None,
) -> Signal | None:
    root = resolve_path(spec.path, product.origin, confinement)
    base = root if root.is_dir() else root.parent
    known: dict[str, list[int]] = {}
    legacy: set[str] = set()
    unreadable: set[str] = set()
    if before is not None:
        known = {name: [int(v) for v in entry[:2]] for name, entry in (before.get("seen") or {}).items()}
        known |= {name: [int(v) for v in entry[:2]] for name, entry in (before.get("stamps") or {}).items()}
        legacy = set(before.get("files") or []) - set(known)
        unreadable = {str(item.get("file")) for item in before.get("unreadable") or []}
    fresh = []
    # An object never changes: a key the last run neither read nor found unreadable is news.
    old = set(known) | legacy | unreadable
    fresh += [(key, [0, 0]) for key in (objects.keys(spec) if objects else []) if key not in old]
    for path in list_files(root, spec, confinement) if objects is None or root.exists() else []:
        name = str(path.relative_to(base))
        stat = path.stat()
        stamp = [stat.st_size, stat.st_mtime_ns]
        if name in legacy or known.get(name) == stamp:
            continue
        if name in unreadable and stat.st_mtime_ns < since_us * 1000:
            continue  # found unreadable by the last run and not rewritten since
        fresh.append((name, stamp))
    if not fresh:
        return None
    names = sorted(name for name, _ in fresh)
    shown = ", ".join(names[:_NAMED]) + (f" and {len(names) - _NAMED} more" if len(names) > _NAMED else "")
    mark = hashlib.sha256(repr(sorted(fresh)).encode()).hexdigest()[:16]
    return Signal(port, f"{len(names)} new file(s) in {spec.path}: {shown}", mark)


def _cursor(port: str, spec: PostgresSourceSpec, before: dict[str, Any] | None) -> Signal | None:
    assert spec.cursor is not None
    column = sql.Identifier(spec.cursor)
    last = (before or {}).get("cursor")
    url = expand_vars(spec.postgres, "postgres URL")
    with psycopg.connect(url, connect_timeout=5, application_name=f"hexmesh-sensor:{port}", autocommit=True) as conn:
        query = sql.SQL("select max({c})::text, pg_typeof(max({c}))::text from {r} as src").format(
            c=column, r=relation(spec)
        )
        row = conn.execute(query).fetchone()
        high, kind = row if row else (None, None)
        if high is None:
            return None
        if last is not None:
            typed = sql.SQL(kind)
            newer = conn.execute(
                sql.SQL("select {}::{} > {}::{}").format(sql.Literal(high), typed, sql.Literal(last), typed)
            ).fetchone()
            if not (newer and newer[0]):
                return None
    since = "never read" if last is None else f"above {last}"
    return Signal(port, f"{spec.path}: {spec.cursor} up to {high} ({since})", f"cursor:{high}")


def _changes(port: str, spec: PostgresSourceSpec, before: dict[str, Any] | None, slot: str) -> Signal | None:
    if before is None or "confirm_lsn" not in before:
        return Signal(port, f"{spec.path}: never read (a first snapshot)", "never")
    done = parse_lsn(before["confirm_lsn"])
    decoder = Decoder()
    url = expand_vars(spec.postgres, "postgres URL")
    with psycopg.connect(url, connect_timeout=5, application_name=f"hexmesh-sensor:{port}", autocommit=True) as conn:
        # A peek consumes nothing; a few changes are enough to know that there are some.
        rows = conn.execute(
            "select data from pg_logical_slot_peek_binary_changes(%s, null, 64, "
            "'proto_version', '1', 'publication_names', %s)",
            (slot, slot),
        ).fetchall()
    for (data,) in rows:
        decoder.feed(bytes(data))
    fresh = [t for t in decoder.transactions if t.end_lsn > done and t.changes]
    if not fresh:
        return None
    upto = format_lsn(max(t.end_lsn for t in fresh))
    return Signal(port, f"{spec.path}: committed changes up to WAL {upto}", f"lsn:{upto}")
