"""SLO observers of an output port: freshness, timeliness, completeness, retention, volume, schema, drift.

Each check is green, amber (close to its promise) or red (broken). Completeness and drift are never
silently off: a port that declares no promise for them reports them ``not configured``, and
completeness without ``expectedRows`` compares a publication with the one before. Everything
computed from a snapshot is cached by snapshot id: published snapshots never change.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from hexmesh.cache import BoundedCache
from hexmesh.infra.state import Publication, from_us, now_us
from hexmesh.infra.tables import arrow_schema
from hexmesh.product.ports import OutputPortReader
from hexmesh.product.shape import drift, shape
from hexmesh.spec import Slo, parse_duration
from hexmesh.spec.duration import human_seconds
from hexmesh.spec.model import DriftBound

__all__ = ["NOT_CONFIGURED", "Check", "PortHealth", "lag", "port_health", "timeliness", "worst"]

#: A check nobody configured says so, and never makes a port's status worse.
NOT_CONFIGURED = "not configured"
_ORDER = {"green": 0, "amber": 1, "red": 2}
#: Share of a time promise after which a check turns amber.
_AMBER = 0.8
_HISTORY = 20


@dataclass
class Check:
    name: str
    status: str
    actual: float | None
    target: float | None
    detail: str


@dataclass
class PortHealth:
    address: str
    status: str
    checks: list[Check]
    history: list[dict[str, Any]] = field(default_factory=list)
    shape: dict[str, Any] = field(default_factory=dict)
    drift: dict[str, Any] = field(default_factory=dict)
    timeliness: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def worst(statuses: list[str]) -> str:
    return max((s for s in statuses if s != NOT_CONFIGURED), key=_ORDER.__getitem__, default="green")


def _time_status(actual: float, limit: float) -> str:
    return "red" if actual > limit else ("amber" if actual > _AMBER * limit else "green")


@dataclass(frozen=True)
class _Snap:
    """What one publication added, summarised (cached per snapshot)."""

    rows: int
    shape: dict[str, Any]
    lag: dict[str, float]


#: Summaries by (table, snapshot, previous snapshot): immutable, so never invalidated.
_CACHE: BoundedCache[tuple[tuple[str, ...], int, int], _Snap] = BoundedCache(10_000)


def _summary(reader: OutputPortReader, publication: Publication, previous: int) -> _Snap:
    key = (tuple(reader.record.table_id), publication.snapshot_id, previous)
    found = _CACHE.get(key)
    if found is None:
        try:
            table = reader.runtime.tables.scan(reader.record.table_id, publication.snapshot_id, since_snapshot=previous)
        except ValueError:  # the snapshot was expired outside hexmesh: the retention check says so
            return _Snap(0, {}, {})
        found = _CACHE.put(key, _Snap(table.num_rows, shape(table), _lag(reader, table, publication)))
    return found


def _lag(reader: OutputPortReader, table: pa.Table, publication: Publication) -> dict[str, float]:
    return lag(table, reader.spec.event_time, publication.published_us)


def lag(table: pa.Table, event_time: str | None, published_us: int) -> dict[str, float]:
    """Processing time minus event time of ``table``'s rows published at ``published_us``, in seconds."""
    if not event_time or table.num_rows == 0:
        return {}
    times = pc.cast(table.column(event_time), pa.timestamp("us", tz="UTC"))
    seconds = pc.divide(pc.subtract(pa.scalar(published_us), pc.cast(times, pa.int64())), 1e6)
    p50, p95, p99 = pc.quantile(seconds, q=[0.5, 0.95, 0.99]).to_pylist()
    return {"p50_s": p50, "p95_s": p95, "p99_s": p99, "max_s": pc.max(seconds).as_py()}


def _last_run_failed(reader: OutputPortReader) -> Check | None:
    """A red check when the product's newest finished run of this major failed: its SLOs may hold, but it is broken."""
    runs = reader.runtime.state.runs(reader.product.key, limit=10)
    finished = [r for r in runs if r.major == reader.product.record.major and r.status in ("succeeded", "failed")]
    if not finished or finished[0].status != "failed":
        return None
    run = finished[0]
    when = from_us(run.finished_us or run.started_us).isoformat(timespec="seconds")
    # Not the run's error: it may quote rows (a failed check's examples) that a reader may not see.
    return Check(
        "last-run",
        "red",
        None,
        None,
        f"the last run ({run.id}) failed at {when}; the port still serves its last good snapshot "
        f"(the owner sees why with hexmesh status {reader.product.key})",
    )


def port_health(reader: OutputPortReader, *, now: int | None = None) -> PortHealth:
    """The status of every observer of ``reader``'s port at ``now`` (microseconds; default: now), with history."""
    slo = reader.spec.slo
    publications = reader.publications()
    previous = [reader.record.baseline_snapshot] + [p.snapshot_id for p in publications]
    snaps = [_summary(reader, p, previous[i]) for i, p in enumerate(publications)]
    checks: list[Check] = []
    now = now_us() if now is None else now
    if slo and slo.freshness:
        limit = parse_duration(slo.freshness).total_seconds()
        if publications:
            age = (now - publications[-1].published_us) / 1e6
            checks.append(
                Check(
                    "freshness",
                    _time_status(age, limit),
                    age,
                    limit,
                    f"newest snapshot is {human_seconds(age)} old; promised at most {slo.freshness}",
                )
            )
        else:
            checks.append(Check("freshness", "red", None, limit, "nothing has been published yet"))
    last = snaps[-1] if snaps else None
    if slo and slo.timeliness and last and last.lag:
        checks.append(timeliness(slo.timeliness, last.lag))
    checks.append(_completeness(slo, snaps))
    if slo and slo.retention:
        checks.append(_retention(reader, publications, slo.retention, now))
    if last is not None:
        checks.append(_volume(snaps, initial_load=reader.spec.mode == "append"))
        checks.append(_schema(reader, last))
    checks.append(_drift(slo.drift if slo else None, snaps))
    failed = _last_run_failed(reader)
    if failed is not None:
        checks.append(failed)
    history = [
        {
            "snapshot_id": p.snapshot_id,
            "published_at": from_us(p.published_us).isoformat(),
            "rows": s.rows,
            "timeliness": s.lag,
        }
        for p, s in zip(publications[-_HISTORY:], snaps[-_HISTORY:], strict=True)
    ]
    return PortHealth(
        reader.address,
        worst([c.status for c in checks]),
        checks,
        history,
        last.shape if last else {},
        drift(snaps[-1].shape, snaps[-2].shape) if len(snaps) > 1 else {},
        last.lag if last else {},
    )


def timeliness(promise: str, lags: dict[str, float]) -> Check:
    """The timeliness check of a publication whose rows waited ``lags`` (see :func:`lag`) against ``promise``."""
    limit = parse_duration(promise).total_seconds()
    p95 = lags["p95_s"]
    return Check(
        "timeliness",
        _time_status(p95, limit),
        p95,
        limit,
        f"p95 of processing minus event time is {human_seconds(p95)}; promised {promise}"
        + ("" if p95 >= 0 else " (negative: event times are after publication; check eventTime's time zone)"),
    )


def _completeness(slo: Slo | None, snaps: list[_Snap]) -> Check:
    """Rows of the last publication against ``expectedRows``, else against the publication before it."""
    if slo is None or slo.completeness is None:
        return Check(
            "completeness",
            NOT_CONFIGURED,
            None,
            None,
            "no completeness SLO: declare slo.completeness (with expectedRows, or it compares with the previous "
            "publication)",
        )
    if not snaps:
        return Check("completeness", "red", None, slo.completeness, "nothing has been published yet")
    rows = snaps[-1].rows
    if slo.expected_rows:
        expected, against = slo.expected_rows, "expected rows"
    elif len(snaps) > 1:
        expected, against = snaps[-2].rows, "rows of the previous publication"
    else:
        detail = f"{rows} rows in the first publication; the next one is compared with it (no expectedRows)"
        return Check("completeness", "green", None, slo.completeness, detail)
    ratio = rows / expected if expected else 1.0
    status = "red" if ratio < slo.completeness else "green"
    return Check("completeness", status, ratio, slo.completeness, f"{rows} of {expected} {against}")


def _drift(bound: DriftBound | None, snaps: list[_Snap]) -> Check:
    """The largest change of a watched field's shape between the last two publications, against its bound."""
    if bound is None:
        return Check("drift", NOT_CONFIGURED, None, None, "no drift SLO: declare slo.drift (nullRatio, mean)")
    if len(snaps) < 2:
        return Check("drift", "green", None, None, "fewer than two publications: nothing to compare yet")
    changes = drift(snaps[-1].shape, snaps[-2].shape)
    crossed: list[str] = []
    worst_ratio = 0.0
    for name, change in sorted(changes.items()):
        if bound.fields and name not in bound.fields:
            continue
        for key, limit in (("null_ratio", bound.null_ratio), ("mean", bound.mean)):
            moved = change.get(key)
            if limit is None or moved is None:
                continue
            worst_ratio = max(worst_ratio, abs(moved) / limit if limit else float(abs(moved) > 0) * 2)
            if abs(moved) > limit:
                label = "null ratio" if key == "null_ratio" else "mean"
                crossed.append(f"{name} {label} {moved:+.2%} (bound ±{limit:.2%})")
    if crossed:
        return Check("drift", "red", worst_ratio, 1.0, "drift beyond its bound: " + "; ".join(crossed))
    status = "amber" if worst_ratio > _AMBER else "green"
    return Check("drift", status, worst_ratio, 1.0, f"largest drift is {worst_ratio:.0%} of its bound")


def _retention(reader: OutputPortReader, publications: list[Publication], promise: str, now: int) -> Check:
    """Every snapshot a read as of the last ``promise`` (say 3y) would need is still in the table."""
    limit = parse_duration(promise).total_seconds()
    start = now - int(limit * 1e6)
    before = [p for p in publications if p.published_us < start]
    needed = before[-1:] + [p for p in publications if p.published_us >= start]
    if not needed:
        return Check("retention", "green", None, limit, "nothing published yet")
    alive = {s.snapshot_id for s in reader.runtime.tables.snapshots(reader.record.table_id)}
    gone = [p for p in needed if p.snapshot_id not in alive]
    kept = (now - needed[0].published_us) / 1e6
    if gone:
        when = ", ".join(from_us(p.published_us).isoformat() for p in gone[:3])
        detail = f"{len(gone)} snapshot(s) within the promised {promise} can no longer be read (published {when})"
        return Check("retention", "red", kept, limit, detail)
    return Check("retention", "green", kept, limit, f"every snapshot of the last {promise} is readable")


def _volume(snaps: list[_Snap], *, initial_load: bool) -> Check:
    """Rows of the last publication against the mean of the ten before it.

    An append port's first publication is its initial load: everything its inputs held when it
    first ran (a registration table's every user, not one day's sign-ups), so it is no measure of a
    delivery and stays out of the mean. A replace port publishes its whole state every time.
    """
    rows = snaps[-1].rows
    if len(snaps) == 1:
        return Check("volume", "green", rows, None, f"{rows} rows in the first snapshot")
    first = 1 if initial_load else 0
    before = [s.rows for s in snaps[max(first, len(snaps) - 11) : -1]]
    if not before:
        loaded = snaps[0].rows
        status = "red" if rows == 0 and loaded > 0 else "green"
        detail = (
            f"{rows} rows; the first snapshot ({loaded} rows) was the initial load, no delivery to compare with yet"
        )
        return Check("volume", status, rows, None, detail)
    mean = statistics.fmean(before)
    change = (rows - mean) / mean if mean else 0.0
    status = "red" if rows == 0 and mean > 0 else ("amber" if abs(change) > 0.5 else "green")
    return Check("volume", status, rows, mean, f"{rows} rows against a mean of {mean:.0f} ({change:+.0%})")


def _schema(reader: OutputPortReader, last: _Snap) -> Check:
    declared = arrow_schema(reader.spec)
    missing = [f.name for f in declared if f.name not in last.shape]
    nulls = [
        f.name for f in reader.spec.properties if f.required and last.shape.get(f.name, {}).get("null_ratio", 0) > 0
    ]
    problems = [f"missing field {m}" for m in missing] + [f"nulls in required {n}" for n in nulls]
    status = "red" if problems else "green"
    return Check("schema", status, float(len(problems)), 0.0, "; ".join(problems) or "conforms")
