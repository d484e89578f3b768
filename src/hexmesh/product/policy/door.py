"""The one door to a port's data: every reader — a person, another product, an engine — gets its shaped view.

A read (:class:`~.read.PortRead`) names a principal, a port, a snapshot (pinned, or the one published at
``as_of``) and optionally an event-time window or "only what was published after snapshot N". The door plans it
(Cedar: product + mesh policies + live grants), audits the decision and returns the rows as the
principal may see them — grants, purpose, masks, pseudonyms, row filters, minimum group sizes,
sealed fields opened only where the plan shows them in clear, the synthetic variant for a
synthetic-only principal — never more::

    read = PortRead(upstream, principal, "plays", via="engine", snapshot_id=pinned)
    with shaped_files(sidecar, read, folder=run_dir) as shaped:
        duckdb.read_parquet(list(shaped.files))      # the rows and columns of shaped.schema

    table, snapshot = shaped_table(sidecar, replace(read, window=Window(after_snapshot=last)))

:func:`shaped_files` hands an engine Parquet data files: the table's own data files, untouched, when
the principal's view of the port is the port itself (every column in clear, every row, nothing
sealed at rest, no window); otherwise Parquet files staged batch by batch (bounded memory; the
synthetic variant is fitted on the whole view) and deleted by :meth:`ShapedFiles.close`.

The raw read (:mod:`._raw`: scans and opened sealed fields) is importable only inside this package
(an import-linter contract), so a new way to read cannot forget the policies.
"""

from __future__ import annotations

import difflib
import shutil
import tempfile
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.parquet as pq

from hexmesh.governance import AccessDeniedError, ReadPlan, apply_plan, plan_schema
from hexmesh.infra.state import audit
from hexmesh.product.deployed import DeployedProduct
from hexmesh.product.policy import _raw
from hexmesh.product.policy.read import PortRead, Window
from hexmesh.product.policy.shaped import UnservedColumnError, request_details, shape_request
from hexmesh.product.policy.sidecar import PolicySidecar
from hexmesh.product.ports import ReadRequest

__all__ = [
    "PortRead",
    "ShapedFiles",
    "Window",
    "access_refusal",
    "shaped_batches",
    "shaped_files",
    "shaped_table",
    "unrestricted_batches",
    "unrestricted_table",
]

#: Rows per staged Parquet file before the next one starts (one row group per shaped batch).
FILE_ROWS = 1_000_000


@dataclass
class ShapedFiles:
    """A principal's view of a port at one snapshot, as Parquet data files.

    ``files`` are paths or URIs (``file:``, ``s3:``…) of Parquet files holding exactly the rows and
    columns of ``schema``; ``staged`` files were written for this read and are deleted by
    :meth:`close` (use the object as a context manager). ``snapshot_id`` is the snapshot read (None:
    nothing published yet, no files); ``plan`` is what the principal may see.
    """

    schema: pa.Schema
    files: tuple[str, ...]
    snapshot_id: int | None
    plan: ReadPlan
    staged: bool = False
    rows: int | None = None
    """Rows written when staged; None for untouched files."""
    folder: Path | None = field(default=None, repr=False)

    def close(self) -> None:
        """Delete the staged files (untouched data files belong to the table and stay)."""
        if self.staged and self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self) -> ShapedFiles:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def access_refusal(plan: ReadPlan, address: str) -> str:
    """What a refused principal is told: why, and the access request to file."""
    return "; ".join(plan.decision.reasons) + (
        f". Ask for access: hexmesh access request {address} --purpose <purpose>"
    )


def _planned(sidecar: PolicySidecar, read: PortRead, raw: _raw.RawPort) -> tuple[ReadPlan, bool]:
    """The principal's plan and whether it reads the synthetic variant; audited, refusals raised.

    A request naming a column the principal may not see is refused (and audited as refused) before
    anything is read.
    """
    principal, address, request, via = read.principal, read.address, read.request, read.via
    plan = sidecar.plan(read.product, principal, read.port, purpose=read.purpose)
    sent = request_details(request)
    details = {"request": sent} if sent else None
    synthetic = read.variant == "synthetic" or (read.variant is None and plan.variant == "synthetic")
    if plan.decision.allowed and plan.variant != "aggregate":
        try:
            shape_request(plan, raw.spec, request, synthetic=synthetic)
            _check_columns(plan, raw, request.columns)
        except UnservedColumnError as exc:
            refused = replace(plan, decision=replace(plan.decision, allowed=False, reasons=(str(exc),)))
            sidecar.record(refused, via=via, details=details)
            raise
    sidecar.record(plan, via=via, details=details)
    if not plan.decision.allowed:
        raise AccessDeniedError(access_refusal(plan, address))
    if plan.variant == "aggregate":
        raise AccessDeniedError(
            f"{principal.key} may only ask differentially private aggregates of {address}, "
            "not read its rows: query it on the SQL port (DP aggregates), or ask its owners for read access "
            f"(hexmesh access request {address} --purpose <purpose>)"
        )
    if plan.variant == "synthetic" and not synthetic:
        raise AccessDeniedError(
            f"{principal.key} may only read the synthetic variant of {address}: ask for ?variant=synthetic"
        )
    return plan, synthetic


def _view_schema(raw: _raw.RawPort, plan: ReadPlan) -> pa.Schema:
    """The schema of the principal's view: a column the plan transforms may be null (a redacted
    required column is all nulls), and a transformed type is the one served (pseudonyms are text)."""
    schema = plan_schema(raw.schema, plan)
    return pa.schema(
        [f if plan.columns[f.name].kind == "keep" else f.with_nullable(True) for f in schema],
        metadata=schema.metadata,
    )


def _check_columns(plan: ReadPlan, raw: _raw.RawPort, columns: tuple[str, ...] | None) -> None:
    unserved = [c for c in columns or () if c not in plan.columns]
    if unserved:
        hints = [difflib.get_close_matches(c, list(plan.columns), n=1) for c in unserved]
        hint = "; ".join(f"did you mean {h[0]!r}?" for h in hints if h)
        raise UnservedColumnError(
            f"no column {', '.join(unserved)} is served to you on port {raw.spec.name!r}; "
            + (f"{hint} " if hint else "")
            + f"columns you may read: {', '.join(plan.columns)}"
        )


def _unrestricted(plan: ReadPlan, raw: _raw.RawPort, read: PortRead) -> bool:
    """Whether the principal's view is the stored table itself (so its data files can be handed over)."""
    window, columns = read.window, read.columns
    return (
        plan.variant == "rows"
        and plan.row_filter is None
        and not plan.min_group
        and not plan.hidden
        and all(a.kind == "keep" for a in plan.columns.values())
        and not raw.sealed
        and (window is None or not window.by_event_time)
        and (columns is None or list(columns) == raw.names)
        and read.filter is None
    )


def shaped_batches(sidecar: PolicySidecar, read: PortRead) -> tuple[pa.Schema, int | None, Iterator[pa.RecordBatch]]:
    """The principal's view of the port as (schema, snapshot read, batches); planned and audited first.

    The view is what ``read`` asks for (see :class:`~.read.PortRead`) within what its principal may
    see. The synthetic variant is fitted on the principal's whole view, so it is held in memory.

    Raises:
        AccessDeniedError: no grant (the message names the access request to file), or aggregate-only.
        UnservedColumnError: ``columns`` or the window name a column the principal may not see.
        ReadError: no such snapshot, a bad window.
    """
    raw = _raw.RawPort(sidecar.runtime, read.product, read.port)
    plan, synthetic = _planned(sidecar, read, raw)
    return _view(sidecar, raw, plan, read, synthetic)


def _view(
    sidecar: PolicySidecar, raw: _raw.RawPort, plan: ReadPlan, read: PortRead, synthetic: bool
) -> tuple[pa.Schema, int | None, Iterator[pa.RecordBatch]]:
    request = read.request
    shaped = shape_request(plan, raw.spec, request, synthetic=synthetic)
    columns = list(request.columns) if request.columns else None
    full = _view_schema(raw, plan)
    schema = pa.schema([full.field(c) for c in columns], metadata=full.metadata) if columns else full
    raw.check_window(request)
    snapshot = raw.snapshot(read.snapshot_id, read.as_of)
    if snapshot is None:
        return schema, None, iter(())
    after = read.after_snapshot
    # Hidden and unprojected columns stay sealed (they are dropped), and so do redacted ones (they become nulls).
    # Row filters and minimum group sizes act on the values, so their columns are always opened.
    redacted = [n for n, a in plan.columns.items() if a.kind == "redact"]
    needed = set(plan.row_filter.fields if plan.row_filter is not None else ()) | set(plan.min_group)
    unprojected = [n for n in raw.names if columns is not None and n not in columns]
    hide = [n for n in (*plan.hidden, *redacted, *unprojected) if n not in needed]
    stored = raw.batches(snapshot, shaped.stored, after_snapshot=after, hide=hide)

    def shape(table: pa.Table) -> pa.Table:
        if shaped.after is not None:
            table = shaped.after(table)
        if columns:
            table = table.select(columns)
        return table.cast(schema) if table.schema != schema else table

    if synthetic:
        whole = pa.Table.from_batches(list(stored), schema=raw.schema)
        key = (tuple(raw.record.table_id), snapshot, after, *_raw.forget_epoch(raw))
        made = sidecar.variants.synthetic(key, lambda: whole, plan)
        return schema, snapshot, iter(shape(made).to_batches())

    def masked() -> Iterator[pa.RecordBatch]:
        for batch in stored:
            out = shape(apply_plan(pa.Table.from_batches([batch]), plan, sidecar.secret))
            for piece in out.to_batches():
                if piece.num_rows:
                    yield piece

    return schema, snapshot, masked()


def shaped_table(sidecar: PolicySidecar, read: PortRead) -> tuple[pa.Table, int | None]:
    """:func:`shaped_batches` as one Arrow table, and the snapshot read."""
    schema, snapshot, batches = shaped_batches(sidecar, read)
    return pa.Table.from_batches(list(batches), schema=schema), snapshot


def shaped_files(
    sidecar: PolicySidecar, read: PortRead, *, folder: Path | None = None, needed: Collection[str] | None = None
) -> ShapedFiles:
    """The principal's view of the port at a snapshot as Parquet files (see the module docstring).

    ``folder``: where staged files go (a fresh folder inside it, deleted by ``close()``); default
    ``<home>/cache/staged``. ``needed``: lower-cased names the reader can use (a transformation's
    SQL; None: any); a view that must be staged anyway holds only those of its columns, so columns
    nobody reads are neither masked nor written. Raises as :func:`shaped_batches`.
    """
    raw = _raw.RawPort(sidecar.runtime, read.product, read.port)
    plan, synthetic = _planned(sidecar, read, raw)
    if not synthetic and _unrestricted(plan, raw, read):
        snapshot = raw.snapshot(read.snapshot_id, read.as_of)
        schema = _view_schema(raw, plan)
        if snapshot is None:
            return ShapedFiles(schema, (), None, plan)
        files = raw.data_files(snapshot, after_snapshot=read.after_snapshot)
        return ShapedFiles(schema, tuple(files), snapshot, plan)
    if needed is not None and not synthetic:
        shown = read.columns if read.columns is not None else tuple(_view_schema(raw, plan).names)
        used = tuple(c for c in shown if c.lower() in needed)
        if used:  # a reader that names none (count(*) only) still gets one column: a file holds rows by them
            read = replace(read, columns=used)
    schema, snapshot, batches = _view(sidecar, raw, plan, read, synthetic)
    base = folder or sidecar.runtime.settings.home / "cache" / "staged"
    base.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f"{read.product.spec.name}-{read.port}-", dir=base))
    try:
        files, rows = _stage(staged, schema, batches)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return ShapedFiles(schema, tuple(files), snapshot, plan, staged=True, rows=rows, folder=staged)


def _stage(folder: Path, schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> tuple[list[str], int]:
    """Write ``batches`` into Parquet files of at most :data:`FILE_ROWS` rows; at least one file."""
    files: list[str] = []
    writer: pq.ParquetWriter | None = None
    in_file = total = 0
    try:
        for batch in batches:
            if writer is None or in_file >= FILE_ROWS:
                if writer is not None:
                    writer.close()
                path = folder / f"part-{len(files):05d}.parquet"
                writer, in_file = pq.ParquetWriter(path, schema), 0
                files.append(str(path))
            writer.write_batch(batch)
            in_file += batch.num_rows
            total += batch.num_rows
        if writer is None:  # no row: an empty file still tells an engine the columns
            path = folder / "part-00000.parquet"
            pq.write_table(schema.empty_table(), path)
            files.append(str(path))
    finally:
        if writer is not None:
            writer.close()
    return files, total


def unrestricted_table(
    sidecar: PolicySidecar,
    product: DeployedProduct,
    port: str,
    request: ReadRequest | None = None,
    *,
    actor: str,
    sealed: bool = False,
) -> pa.Table:
    """The port's rows as stored, for who administers the workspace itself — never a port's caller.

    ``actor`` names who reads and is audited (``unrestricted.read``): the workspace's root, a program
    using the Python API with the state store's credentials (it could read the tables anyway), a
    backfill republishing its own product's rows (``sealed=True``: restricted fields stay sealed), an
    aggregate-only reader's private profile in the UI (``serving/preview.py``, ``sealed=True``: the
    rows never leave, only noisy counts charged to its budget, as the SQL port's DP aggregates).
    Everyone else reads through :func:`shaped_table` as a principal.
    """
    request = request or ReadRequest()
    raw = _raw.RawPort(sidecar.runtime, product, port)
    table = raw.read(request, opened=not sealed)
    _audit_unrestricted(sidecar, product, port, actor, request, sealed=sealed, rows=table.num_rows)
    return table


def unrestricted_batches(
    sidecar: PolicySidecar, product: DeployedProduct, port: str, *, actor: str
) -> Iterator[pa.RecordBatch]:
    """The port's published rows as stored, sealed fields sealed, batch by batch (bounded memory).

    For a backfill republishing its own product's rows (:func:`unrestricted_table` with
    ``sealed=True``, streamed); audited as ``unrestricted.read`` when asked, before any row is read.
    """
    raw = _raw.RawPort(sidecar.runtime, product, port)
    publication = raw.reader.publication()
    _audit_unrestricted(sidecar, product, port, actor, ReadRequest(), sealed=True, streamed=True)
    if publication is None:
        return iter(())
    return sidecar.runtime.tables.scan_batches(raw.record.table_id, publication.snapshot_id)


def _audit_unrestricted(
    sidecar: PolicySidecar,
    product: DeployedProduct,
    port: str,
    actor: str,
    request: ReadRequest,
    **details: object,
) -> None:
    """Record an ``unrestricted.read`` of ``product``'s ``port`` by ``actor`` in the audit log."""
    audit.append(
        sidecar.db,
        audit.AuditEntry(
            actor=actor,
            action="unrestricted.read",
            resource=f"dp://{product.key}/{port}",
            decision="allow",
            details={"request": request_details(request), **details},
        ),
    )
