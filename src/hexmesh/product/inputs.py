"""Read a product's input ports, each with its window, and remember how far each read got.

Each input reaches the engine as Parquet files: an upstream port as this product's principal sees
it, through the policy's door (the table's own data files when that view is the table itself,
else the view staged in the run's folder); a source's rows, staged as one Parquet file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.io import FileIO

from hexmesh.errors import HexmeshError, InputError, NotFoundError
from hexmesh.infra.compute import ParquetInput, RunFolder
from hexmesh.infra.settings import Settings
from hexmesh.infra.tables.fields import arrow_type
from hexmesh.product.cdc import port_slot, read_cdc
from hexmesh.product.database_source import read_database
from hexmesh.product.deployed import DeployedProduct
from hexmesh.product.landing import ObjectLanding, lands_in_objects, read_landed
from hexmesh.product.policy.read import Window
from hexmesh.product.policy.sidecar import PolicySidecar
from hexmesh.product.policy.upstream import upstream_files
from hexmesh.product.postgres_source import read_postgres
from hexmesh.product.remote import RemotePort, locate, read_remote
from hexmesh.product.runtime import Runtime
from hexmesh.product.sources import read_source
from hexmesh.product.sql.references import sql_references
from hexmesh.spec import Confinement, DatabaseSourceSpec, InputPort, PostgresSourceSpec, inside, parse_address

__all__ = ["InputRead", "origin", "read_inputs"]


@dataclass
class InputRead:
    """The inputs read for a run (as Parquet files), the positions reached, and whether anything was new."""

    inputs: dict[str, ParquetInput] = field(default_factory=dict)
    positions: dict[str, dict[str, Any]] = field(default_factory=dict)
    nothing_new: bool = False
    #: Restricted (sealed) upstream fields each input carries opened, in plaintext.
    opened: dict[str, list[str]] = field(default_factory=dict)


def read_inputs(
    runtime: Runtime,
    product: DeployedProduct,
    previous: dict[str, dict[str, Any]],
    started: datetime,
    folder: RunFolder,
) -> InputRead:
    """Read every input port as of ``started`` into ``folder``; ``previous`` holds the last good run's positions."""
    result = InputRead()
    pins = runtime.state.pins(product.key, product.record.version)
    upstreams = any(p.from_ is not None for p in product.spec.input_ports)
    referenced = _referenced(product) if upstreams else None
    sidecar = PolicySidecar(runtime) if upstreams else None
    landing = lands_in_objects(runtime.settings)
    fresh = []
    for port in product.spec.input_ports:
        before = _same_origin(port, previous.get(port.name))
        try:
            if port.from_ is not None:
                assert sidecar is not None
                files, position, opened = _read_upstream(
                    sidecar, product, port, before, started, pins, referenced, folder
                )
                if opened:
                    result.opened[port.name] = opened
            else:
                objects = ObjectLanding.of(runtime.storage, product.key, port.name) if landing else None
                table, position = _read_source(product, port, before, product.confinement(runtime.settings), objects)
                files = _staged(folder, port.name, table)
        except HexmeshError:
            raise
        except Exception as exc:  # a broken upstream must not look like a bug in this product
            raise InputError(f"input port {port.name!r} failed: {type(exc).__name__}: {exc}") from exc
        result.inputs[port.name] = files
        result.positions[port.name] = {**position, "origin": origin(port)}
        if port.window_spec.kind == "incremental":
            fresh.append(files.rows > 0)
        else:  # a whole-history input is news only when what it read changed
            fresh.append(_changed(position, before))
    result.nothing_new = bool(fresh) and not any(fresh)
    return result


def _staged(folder: RunFolder, name: str, table: pa.Table) -> ParquetInput:
    """What was read, as one Parquet file in the run's input folder."""
    if not table.num_rows:
        return ParquetInput(name, (), table.schema, 0)
    path = folder.input(name) / "staged.parquet"
    pq.write_table(table, path)
    return ParquetInput(name, (str(path),), table.schema, table.num_rows)


def origin(port: InputPort) -> str:
    """A fingerprint of where an input reads from: a position is only worth keeping for the same origin.

    Options of how a file is parsed (delimiter, nulls...) are not part of it: files already read
    are not read again when they change (``--full-refresh`` re-reads them).
    """
    source = port.source
    if port.from_ is not None:
        what: list[Any] = ["from", port.from_]
    elif isinstance(source, PostgresSourceSpec):
        what = ["postgres", source.postgres, source.table, source.query, source.cursor, source.mode, source.slot]
    elif isinstance(source, DatabaseSourceSpec):
        what = ["database", source.database, source.table, source.query, source.cursor]
    else:
        assert source is not None
        what = ["files", source.format, source.path]
    return hashlib.sha256(json.dumps(what).encode()).hexdigest()[:16]


def _same_origin(port: InputPort, previous: dict[str, Any] | None) -> dict[str, Any] | None:
    """``previous`` when it was read from the port's current origin, else None (read from the start)."""
    if previous is None:
        return None
    recorded = previous.get("origin")
    if recorded is not None and recorded != origin(port):
        return None
    if port.from_ is not None and "from" in previous and previous["from"] != port.from_:
        return None
    return previous


def _changed(position: dict[str, Any], previous: dict[str, Any] | None) -> bool:
    """Whether a whole-history read saw something the last good run did not."""
    if previous is None or ("snapshot_id" not in position and "files" not in position):
        return True  # a database table read whole has no cheap change marker: always news
    return any(position.get(key) != previous.get(key) for key in ("snapshot_id", "major", "files", "stamps"))


def _read_upstream(
    sidecar: PolicySidecar,
    product: DeployedProduct,
    port: InputPort,
    previous: dict[str, Any] | None,
    started: datetime,
    pins: dict[str, tuple[str, int]],
    referenced: frozenset[str] | None,
    folder: RunFolder,
) -> tuple[ParquetInput, dict[str, Any], list[str]]:
    """The upstream port as this product's principal may read it (the policy's door, docs/adr/0026)."""
    assert port.from_ is not None
    address = parse_address(port.from_)
    # The major fixed at deploy (lifecycle/pins.py): a new upstream major never reaches us silently.
    pinned = pins.get(port.name)
    major = address.major if address.major is not None else (pinned[1] if pinned else None)
    try:
        upstream = DeployedProduct.load(sidecar.runtime, address.product_key, major=major)
        record = sidecar.runtime.state.port(upstream.key, upstream.record.major, address.port or "")
        if record is None:
            raise NotFoundError(f"port {address.port!r} of {upstream.key} has no table yet; run `hexmesh deploy` first")
    except NotFoundError as exc:
        settings = sidecar.runtime.settings
        last = previous or _last_read(sidecar.runtime, product, port)
        remote = locate(settings, product.spec, port, last.get("peer"), last.get("major")) if settings.peers else None
        if remote is None:
            asked = f"; none of this node's peers ({', '.join(settings.peers)}) serves it" if settings.peers else ""
            raise InputError(f"input port {port.name!r} reads {port.from_}: {exc}{asked}") from exc
        return _read_remote(settings, remote, product, port, previous, started, folder)
    position: dict[str, Any] = {"from": port.from_, "major": upstream.record.major}
    read_window = _window(port, previous, started, upstream.record.major)
    shaped = upstream_files(
        sidecar,
        product.spec,
        port,
        upstream,
        address.port or "",
        as_of=started,
        window=read_window,
        referenced=referenced,
        folder=folder.input(port.name),
    )
    snapshot = shaped.snapshot_id
    position["snapshot_id"] = record.baseline_snapshot if snapshot is None else snapshot  # None: nothing published
    files = _local(shaped.files, folder.input(port.name), lambda: sidecar.runtime.tables.load(record.table_id).io)
    rows = shaped.rows if shaped.rows is not None else sum(pq.read_metadata(f).num_rows for f in files)
    spec = upstream.output(address.port or "")
    opened = [f.name for f in spec.properties if f.classification == "restricted" and f.name in shaped.schema.names]
    return ParquetInput(port.name, files, shaped.schema, rows), position, opened


def _window(port: InputPort, previous: dict[str, Any] | None, started: datetime, major: int | None) -> Window | None:
    """Which rows of the pinned snapshot a run reads: after the last one read (incremental, same
    major), the last ``N`` of event time, or all."""
    window = port.window_spec
    last = (previous or {}).get("snapshot_id")
    if window.kind == "incremental" and previous and previous.get("major") == major and last is not None:
        return Window(after_snapshot=int(last))
    if window.kind == "last" and window.last:
        return Window(since=started - window.last)
    return None


def _last_read(runtime: Runtime, product: DeployedProduct, port: InputPort) -> dict[str, Any]:
    """Where the last good run read ``port`` (a full refresh or backfill reads from the start, but keeps
    the peer and the major it pinned, as a local input keeps its pin)."""
    for run in runtime.state.runs(product.key, limit=50):
        if run.major == product.record.major and run.status in ("succeeded", "skipped"):
            position: dict[str, Any] = run.details.get("inputs", {}).get(port.name, {})
            return position if _same_origin(port, position) is not None else {}
    return {}


def _read_remote(
    settings: Settings,
    remote: RemotePort,
    product: DeployedProduct,
    port: InputPort,
    previous: dict[str, Any] | None,
    started: datetime,
    folder: RunFolder,
) -> tuple[ParquetInput, dict[str, Any], list[str]]:
    """An upstream another node serves, read through its files port (docs/adr/0033)."""
    if previous is not None and previous.get("peer") != remote.peer and not remote.lists(previous.get("snapshot_id")):
        # Positions are snapshot ids of one table: kept when the new peer serves that table too
        # (another node of one cluster), else the read starts over.
        previous = None
    read = read_remote(
        settings,
        remote,
        product.spec,
        port,
        as_of=started,
        window=_window(port, previous, started, remote.major),
        folder=folder.input(port.name),
    )
    files = (str(read.file),) if read.file is not None else ()
    position = {"from": port.from_, "major": remote.major, "peer": remote.peer, "snapshot_id": read.snapshot_id}
    return ParquetInput(port.name, files, read.schema, read.rows), position, []


def _local(files: tuple[str, ...], folder: Path, io: Callable[[], FileIO]) -> tuple[str, ...]:
    """``files`` as local paths: a file on object storage is copied into the run's ``folder`` through
    the table's FileIO (its credentials), so every engine reads local files."""
    out = []
    for index, file in enumerate(files):
        if "://" not in file or file.startswith("file:"):
            out.append(file.removeprefix("file://").removeprefix("file:"))
            continue
        target = folder / f"remote-{index:05d}.parquet"
        with io().new_input(file).open() as source, target.open("wb") as sink:
            shutil.copyfileobj(source, sink, 8 * 1024 * 1024)
        out.append(str(target))
    return tuple(out)


def _referenced(product: DeployedProduct) -> frozenset[str] | None:
    """The names the product's SQL transformation uses; None (everything) for Python or a pass-through."""
    code = product.spec.transformation
    if code is None or code.sql is None:
        return None
    files = [code.sql] if isinstance(code.sql, str) else list(code.sql.values())
    names: set[str] = set()
    for file in files:
        path = inside(product.bundle, file)
        if path is None:
            return None
        found = sql_references(path.read_text(encoding="utf-8"), "duckdb")
        if found is None:
            return None
        names |= found
    return frozenset(names)


def _read_source(
    product: DeployedProduct,
    port: InputPort,
    previous: dict[str, Any] | None,
    confinement: Confinement,
    objects: ObjectLanding | None = None,
) -> tuple[pa.Table, dict[str, Any]]:
    assert port.source is not None
    incremental = port.window_spec.kind == "incremental"
    if isinstance(port.source, PostgresSourceSpec) and port.source.mode == "cdc":
        return read_cdc(port.name, port.source, previous, port_slot(product.key, product.record.major, port))
    if isinstance(port.source, PostgresSourceSpec):
        return read_postgres(port.name, port.source, previous, incremental=incremental)
    if isinstance(port.source, DatabaseSourceSpec):
        return read_database(
            port.name, port.source, product.origin, previous, incremental=incremental, confinement=confinement
        )
    if incremental:
        landed = read_landed(port.source, product.origin, previous, confinement, objects)
        table, position = landed.table, landed.position
    else:
        batch = read_source(port.source, product.origin, confinement=confinement)
        table, position = batch.table, {"files": batch.files, "stamps": batch.stamps}
    if table is None and position.get("unreadable"):
        problems = "; ".join(item["error"] for item in position["unreadable"])
        raise InputError(f"input port {port.name!r}: {problems}; the file(s) will be retried by the next run")
    if table is None:
        known = (previous or {}).get("schema")
        if not incremental or not known:
            raise InputError(
                f"input port {port.name!r} found no {port.source.format} files at {port.source.path!r}; "
                "add data to the source before running"
            )
        # Nothing new: an empty table with the schema the files had last time.
        table = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(known))).empty_table()
    position["schema"] = base64.b64encode(table.schema.serialize().to_pybytes()).decode("ascii")
    return _declared(port, table), position


def _declared(port: InputPort, table: pa.Table) -> pa.Table:
    """Declared ``properties`` that no record carried (optional event fields) become null columns."""
    for spec in port.properties:
        if spec.name not in table.column_names:
            table = table.append_column(spec.name, pa.nulls(table.num_rows, arrow_type(spec)))
    return table
