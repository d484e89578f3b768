"""Run one product: read inputs, transform, conform, check, and publish every port or none.

A run holds the product major's lease for its whole length, renewed by heartbeat: a node killed
mid-run loses it within ``lease_seconds`` and another node may run the product. Publication is
one state-store transaction recording a snapshot per output port, committed only while the run
still holds its lease: until it commits nothing of the run is served, so a run that fails (or
is killed) at any step leaves every port at its last good snapshot, and a run that lost its
lease never publishes (docs/adr/0002-publication-log.md, docs/adr/0025-one-mesh-many-nodes.md).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow.parquet as pq

from hexmesh.errors import (
    ConcurrentRunError,
    HexmeshError,
    InputError,
    QualityGateError,
    TransformError,
    WorkspaceError,
)
from hexmesh.infra.compute import RunFolder
from hexmesh.infra.state import Heartbeat, RunRecord, from_us
from hexmesh.product.backfill import EventWindow, merge_window
from hexmesh.product.candidate import Candidate
from hexmesh.product.cdc import cdc_ports, confirm_positions
from hexmesh.product.clustering import cluster_keys
from hexmesh.product.conform import conform_staged
from hexmesh.product.deployed import DeployedProduct
from hexmesh.product.inputs import read_inputs
from hexmesh.product.quality import CheckResult, run_checks
from hexmesh.product.runtime import Runtime
from hexmesh.product.sealing import seal_batches
from hexmesh.product.transform import transform

__all__ = ["ABANDONED", "RunResult", "refuse_full_refresh", "run_product"]

#: The error of a run whose process died (kill -9, a lost node): the next run or a node's scheduler says so.
ABANDONED = "abandoned: its process died before finishing"

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
#: Where refused candidates are kept in object storage, one folder per run.
QUARANTINE = "quarantine"


@dataclass
class RunResult:
    """What a run did."""

    run_id: str
    product: str
    version: str
    status: str
    rows: dict[str, int] = field(default_factory=dict)
    snapshots: dict[str, int] = field(default_factory=dict)
    checks: list[CheckResult] = field(default_factory=list)
    published_at: datetime | None = None
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The outcome as the control port and ``hexmesh run --json`` give it (snapshot ids as text)."""
        return {
            "run_id": self.run_id,
            "product": self.product,
            "version": self.version,
            "status": self.status,
            "rows": dict(self.rows),
            "snapshots": {port: str(snapshot) for port, snapshot in self.snapshots.items()},
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "message": self.message,
        }


def run_product(
    runtime: Runtime,
    ref: str,
    *,
    major: int | None = None,
    trigger: str = "manual",
    reason: str | None = None,
    progress: Progress | None = None,
    wait: float = 0.0,
    backfill: EventWindow | None = None,
    full_refresh: bool = False,
    checked_at: datetime | None = None,
) -> RunResult:
    """Run the newest deployed version of ``ref``; raise on failure after recording it.

    With ``backfill``, recompute that event-time window from all input and publish it in place
    of the window's published rows (product/backfill.py); input positions do not move.
    With ``full_refresh``, recompute every port from all input and publish the result as a new
    snapshot that replaces what the port served (earlier snapshots answer as they did); input
    positions move to what was read. ``reason`` says why the run started (observability shows it).
    ``checked_at`` is the moment the quality gate's freshness checks judge against (default: when the
    run starts): a replay of a past day passes the moment that day's data was complete.
    """
    say = progress or (lambda _message: None)
    product = DeployedProduct.load(runtime, ref, major=major)
    if not product.bundle.is_dir():
        raise WorkspaceError(
            f"the bundle of {product.key} {product.record.version} is not on this node ({product.bundle}) and could "
            "not be fetched from object storage (the log says why); every node of a cluster must reach the same "
            "object storage: check the storage setting (HEXMESH_STORAGE) and its credentials. Nothing was run"
        )
    if full_refresh:
        refuse_full_refresh(product)
    run_id = str(uuid.uuid4())
    lock, ttl_us = f"run:{product.key}@{product.record.major}", int(runtime.settings.lease_seconds * 1_000_000)
    _acquire(runtime, lock, run_id, ttl_us, wait)
    heartbeat = Heartbeat(runtime.state, lock, run_id, ttl_us)
    try:
        runtime.state.abandon_runs(product.key, ABANDONED)
        why = reason or _default_reason(trigger, backfill, full_refresh)
        details = {"reason": why, **({"full_refresh": True} if full_refresh else {})}
        runtime.state.start_run(
            run_id,
            product.key,
            product.record.version,
            product.record.major,
            trigger,
            details,
            node=runtime.settings.node_name,
        )
        _notify(runtime, "run_started", product, run_id)
        try:
            result = _run(
                runtime,
                product,
                run_id,
                say,
                backfill,
                full_refresh=full_refresh,
                reason=why,
                lease=(lock, ttl_us),
                checked_at=checked_at,
            )
        except BaseException as exc:
            _notify(runtime, "run_failed", product, run_id, exc)
            raise
        _notify(runtime, "run_finished", product, result)
        return result
    finally:
        heartbeat.stop()
        runtime.state.release_lock(lock, run_id)


def _notify(runtime: Runtime, hook: str, *args: object) -> None:
    for observer in runtime.observers:
        try:
            getattr(observer, hook)(*args)
        except Exception:  # an observer must never fail a run or hide its outcome
            log.exception("run observer %r failed in %s", observer, hook)


def _acquire(runtime: Runtime, lock: str, run_id: str, ttl_us: int, wait: float) -> None:
    deadline = time.monotonic() + wait
    while True:
        holder = runtime.state.acquire_lock(lock, run_id, ttl_us)
        if holder is None:
            return
        if time.monotonic() >= deadline:
            since = from_us(int(holder["acquired_us"])).isoformat(timespec="seconds")
            raise ConcurrentRunError(
                f"{lock.removeprefix('run:')} is already running (run {holder['owner']}, pid "
                f"{holder['pid']} on {holder['host']}, since {since}); wait for it to finish "
                "or pass --wait SECONDS"
            )
        time.sleep(0.2)


def _last_good(runtime: Runtime, product: DeployedProduct) -> RunRecord | None:
    """The product major's last run that succeeded or was skipped: where its inputs were read to."""
    for run in runtime.state.runs(product.key, limit=50):
        if run.major == product.record.major and run.status in ("succeeded", "skipped"):
            return run
    return None


def _default_reason(trigger: str, backfill: EventWindow | None, full_refresh: bool) -> str:
    if full_refresh:
        return "full refresh: recompute every port from all input"
    if backfill is not None:
        return f"backfill of event time [{backfill.since}, {backfill.until})"
    return f"requested ({trigger})"


def _run(
    runtime: Runtime,
    product: DeployedProduct,
    run_id: str,
    tell: Progress,
    backfill: EventWindow | None = None,
    *,
    full_refresh: bool = False,
    reason: str = "",
    lease: tuple[str, int] | None = None,
    checked_at: datetime | None = None,
) -> RunResult:
    result = RunResult(run_id, product.key, product.record.version, "failed")
    details: dict[str, Any] = {"reason": reason, **({"full_refresh": True} if full_refresh else {})}
    started = datetime.now(UTC)
    folder = RunFolder(runtime.settings.compute_runs / run_id)
    rows: dict[str, int] | None = None

    def say(stage: str) -> None:  # the terminal, and the run's record (observability shows a running run)
        try:
            runtime.state.run_progress(run_id, stage, rows)
        except Exception:  # progress is best effort: it must never fail the run
            log.exception("could not record the progress of run %s", run_id)
        tell(stage)

    try:
        say("reading input ports")
        last = _last_good(runtime, product)
        previous = dict(last.details.get("inputs", {})) if last else {}
        code = product.spec.transformation
        engine = runtime.compute(_engine_name(runtime, product))
        inputs = read_inputs(runtime, product, {} if backfill or full_refresh else previous, started, folder)
        details["inputs"] = previous if backfill else inputs.positions
        details["input_rows"] = rows = {name: item.rows for name, item in inputs.inputs.items()}
        # A new version recomputes what its windows give it even when no input moved (its code may have).
        new_version = last is not None and last.version != product.record.version
        whole = [p.name for p in product.spec.input_ports if p.window_spec.kind != "incremental"]
        if new_version and whole and last is not None:
            details["recompute"] = f"first run of {product.record.version} (last good run: {last.version})"
        elif inputs.nothing_new and backfill is None and not full_refresh:
            result.status, result.message = "skipped", "no new input since the last successful run"
            if new_version:
                result.message += (
                    f"; {product.record.version} reads only new input (every input port is incremental): "
                    "run it with --full-refresh to recompute from all input"
                )
            runtime.state.finish_run(run_id, "skipped", details=details, lease=lease)
            confirm_positions(product.spec.input_ports, details["inputs"])
            return result
        say(f"running the transformation ({engine.name})")
        if inputs.opened and engine.name != "duckdb" and (code is None or code.engine is None):
            # The mesh's default engine, not the product, chose Spark: restricted fields in clear stay here.
            say(f"restricted fields in clear: running on duckdb, not the default {engine.name}")
            engine = runtime.compute("duckdb")
        details["engine"] = engine.name
        _refuse_opened(product, engine.name, inputs.opened)
        outputs = transform(product, engine, inputs.inputs, folder, runtime.settings)
        rows = {name: staged.rows for name, staged in outputs.items()}
        say("checking the output against its schema")
        # Outputs stay on disk from here to the commit: each step streams them (product/candidate.py).
        candidates = {name: conform_staged(product.output(name), staged) for name, staged in outputs.items()}
        if backfill is not None:
            details["backfill"] = backfill.as_dict()
            candidates = merge_window(runtime, product, candidates, backfill, folder)
        say("running quality checks")
        for name, candidate in candidates.items():
            result.checks.extend(
                run_checks(product.output(name), candidate.dataset(), runtime.engine, checked_at or started)
            )
        details["checks"] = [c.as_dict() for c in result.checks]
        failed = [c for c in result.checks if not c.passed]
        if failed:
            details["quarantine"] = _quarantine(runtime, product, run_id, candidates, folder)
            gate = QualityGateError(_gate_message(product, failed, details["quarantine"]))
            gate.checks = tuple(result.checks)
            raise gate
        say("publishing")
        published = _publish(runtime, product, run_id, candidates, replace_all=backfill is not None or full_refresh)
        result.rows = {name: candidate.rows for name, candidate in candidates.items()}
        result.snapshots = {name: snap for name, (_, snap, _) in published.items()}
        details["rows"] = result.rows
        finished = runtime.state.finish_run(
            run_id, "succeeded", details=details, published=list(published.values()), lease=lease
        )
        result.status, result.published_at = "succeeded", from_us(finished)
        # Only now, with the positions stored beside the publication, may CDC slots move on.
        confirm_positions(product.spec.input_ports, details["inputs"])
        return result
    except HexmeshError as exc:
        runtime.state.finish_run(run_id, "failed", error=str(exc), details=details)
        raise
    except BaseException as exc:
        runtime.state.finish_run(
            run_id, "failed", error=f"internal error: {type(exc).__name__}: {exc}", details=details
        )
        raise
    finally:
        folder.remove()


def _engine_name(runtime: Runtime, product: DeployedProduct) -> str:
    """The spec's engine, else the mesh default; Python transformations run confined, on duckdb."""
    code = product.spec.transformation
    if code is not None and code.engine is not None:
        return code.engine
    if code is not None and code.python is not None:
        return "duckdb"
    return runtime.settings.compute_engine


def _refuse_opened(product: DeployedProduct, engine: str, opened: dict[str, list[str]]) -> None:
    """Opened restricted fields never leave the hexmesh process (docs/adr/0029-compute-engines.md)."""
    if engine == "duckdb" or not opened:
        return
    named = "; ".join(f"{port}: {', '.join(fields)}" for port, fields in opened.items())
    raise TransformError(
        f"{product.key} reads restricted fields in clear ({named}), which stay inside hexmesh's own process: "
        f"they cannot go to the {engine} engine. Run the product on engine: duckdb, or leave the fields out of "
        "its SQL. Nothing was published"
    )


def refuse_full_refresh(product: DeployedProduct) -> None:
    """A full refresh re-reads every input from its start; a CDC input has no start to go back to."""
    cdc = [port.name for port, _ in cdc_ports(product.spec.input_ports)]
    if cdc:
        raise InputError(
            f"{product.key} cannot be fully refreshed: input port(s) {', '.join(cdc)} read PostgreSQL by "
            "logical replication (mode: cdc), which keeps only the changes since the slot's position, so "
            "all input cannot be read again; deploy a new major to start from a fresh snapshot of the table. "
            "Nothing was run"
        )


def _publish(
    runtime: Runtime,
    product: DeployedProduct,
    run_id: str,
    candidates: dict[str, Candidate],
    *,
    replace_all: bool = False,
) -> dict[str, tuple[int, int, int]]:
    """Write every port's files first, then commit one snapshot per port (not yet published).

    Restricted fields are sealed here, batch by batch on their way to the table's files: after
    the checks (which see plaintext) and before any file of the table is written.
    """
    ports = {}
    for name in candidates:
        record = runtime.state.port(product.key, product.record.major, name)
        if record is None:
            raise HexmeshError(f"port {name!r} of {product.key} has no table; redeploy the product")
        ports[name] = record
    staged = {}
    for name, candidate in candidates.items():
        sealed = seal_batches(runtime, product.output(name), candidate.batches())
        # Sorted by the fields its row filters test, so a filtered read skips row groups (ADR 0044).
        staged[name] = runtime.tables.stage(ports[name].table_id, sealed, sort_by=cluster_keys(product.spec, name))
    committed = {}
    for name, write in staged.items():
        record = ports[name]
        latest = runtime.state.latest_publication(record.id)
        base = latest.snapshot_id if latest else record.baseline_snapshot
        snapshot = runtime.tables.commit(
            write,
            replace=replace_all or product.output(name).mode == "replace",
            base=base,
            properties={"hexmesh.run-id": run_id, "hexmesh.version": product.record.version},
        )
        committed[name] = (record.id, snapshot, write.rows)
    return committed


def _quarantine(
    runtime: Runtime, product: DeployedProduct, run_id: str, candidates: dict[str, Candidate], folder: RunFolder
) -> str:
    """Keep the refused candidates, sealed, in object storage (``quarantine/<run>/<port>.parquet``); where they are."""
    for name, candidate in candidates.items():
        path = folder.candidate(name) / "quarantine.parquet"
        with pq.ParquetWriter(path, candidate.schema) as writer:
            for batch in seal_batches(runtime, product.output(name), candidate.batches()):
                writer.write_batch(batch)
        runtime.storage.put_file(f"{QUARANTINE}/{run_id}/{name}.parquet", path)
    location = runtime.storage.locate(f"{QUARANTINE}/{run_id}")
    return location.removeprefix("file://") if location.startswith("file://") else location


def _gate_message(product: DeployedProduct, failed: list[CheckResult], quarantine: str) -> str:
    lines = [f"{len(failed)} quality check(s) failed for {product.key}; nothing was published:"]
    for check in failed:
        lines.append(f"  - {check.port}: {check.check}: {check.detail}")
        for example in check.examples[:3]:
            lines.append(f"      e.g. {example}")
    lines.append(f"The candidate output is kept in {quarantine} for inspection.")
    return "\n".join(lines)
