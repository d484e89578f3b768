"""Event-driven runs across the mesh, with no central DAG: the graph comes from input ports.

Each pass (:meth:`Scheduler.tick`) looks at every live product major in dependency order and
runs those that are due:

- ``trigger: upstream`` (the default): an upstream port it reads has published a snapshot the
  product's last good run has not read. Since upstreams come first in the order, a commit
  flows down a chain in one pass, and a product with several changed upstreams runs once.
- ``trigger: {cron: "..."}``: the next fire time after the last cron run has passed (UTC).
- ``trigger: {sources: ..., debounce: 30s, minInterval: 5m}`` (a sensor): a watched source has
  something the last good run has not read (landed files, HTTP ingest batches, PostgreSQL rows
  by cursor or CDC changes; :mod:`hexmesh.product.sensors`), the sources have been quiet for
  ``debounce`` (what arrived meanwhile is one run), and the last sensor run started at least
  ``minInterval`` ago.
- ``trigger: manual``: never.

Each run records why it started (``reason``: the upstream snapshots, the cron fire time, the
files or changes a sensor saw); the observability port shows it.

A product paused by its control port is skipped until it is resumed (``hexmesh status`` says so);
its dependents still run on its last good snapshot when their other upstreams publish. A node
runs only the products its ``placement`` setting names (default: all).

A failed run is retried with exponential backoff (``backoff`` · 2^(n-1), at most
``max_attempts`` times until an upstream publishes again); its dependents are not run, so they
go on serving their last good snapshot. Runs never overlap: one thread runs them one at a
time, and across nodes a scheduling lease per product major plus the run's lease (both renewed
by heartbeat, lost seconds after a node dies) make sure at most one node runs a product for a
given upstream commit; another node's run is "someone else runs it" (:class:`ConcurrentRunError`),
not a failure. A run whose node died is retried by any other node at its next pass.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hexmesh.errors import ConcurrentRunError, HexmeshError
from hexmesh.infra.state import RunRecord, from_us
from hexmesh.lifecycle.consumers import edges, live_versions
from hexmesh.lifecycle.dependencies import topological_order
from hexmesh.product import ABANDONED, DeployedProduct, RunResult, Runtime, run_product
from hexmesh.product.control import ControlState
from hexmesh.product.landing import lands_in_objects
from hexmesh.product.remote import latest_snapshot, locate
from hexmesh.product.sensors import Signal, sensed
from hexmesh.spec import parse_duration
from hexmesh.spec.model import CronTrigger, SensorTrigger

__all__ = ["Attempt", "Scheduler"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    """What the scheduler did for one product in one pass."""

    product: str
    major: int
    trigger: str
    """upstream | cron | sensor."""
    reason: str
    status: str
    """succeeded | skipped | failed | busy (another node runs it)."""
    run_id: str | None = None
    error: str | None = None


@dataclass
class _Failure:
    count: int
    retry_at: datetime
    trigger: str
    marker: tuple[Any, ...]


#: An upstream port whose latest publication a product has not read: (where, snapshot), where is
#: ``dp://domain/name@major/port``, or ``dp://domain/name/port on <peer>`` for a port another node serves.
_Changed = tuple[str, int]


def _now() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    """Runs products when their upstreams publish or their cron fires; ``start``/``stop`` a thread.

    Args:
        runtime: the node's runtime. The scheduler opens its own runtime on the same settings
            (its own database connections and DuckDB) and only watches this one's runs to wake up.
        poll_interval: seconds between passes when nothing wakes the scheduler (other nodes'
            publications are seen at the next pass).
        max_attempts: runs of a failing product before it waits for a new upstream commit.
        backoff: seconds before the first retry; doubled for each further failure.
        clock: the current time (tests pass a fake one).
        on_attempt: called with every :class:`Attempt` (for logs, metrics, event streams).
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        poll_interval: float = 5.0,
        max_attempts: int = 3,
        backoff: float = 30.0,
        max_backoff: float = 3600.0,
        clock: Callable[[], datetime] = _now,
        on_attempt: Callable[[Attempt], None] | None = None,
    ) -> None:
        self.watched = runtime
        self.runtime = Runtime(runtime.settings)
        self.poll_interval = poll_interval
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.clock = clock
        self.on_attempt = on_attempt
        self.node = f"{runtime.settings.node_name}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.started_at = clock()
        self.control = ControlState(self.runtime.state.db)
        self._failures: dict[str, _Failure] = {}
        #: Per product major, what its sensor last saw pending and since when (for the debounce).
        self._sensed: dict[str, tuple[str, datetime]] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the thread -------------------------------------------------------------------------

    def start(self) -> None:
        """Start passes in a daemon thread; returns at once."""
        if self._thread is not None:
            return
        self._stop.clear()
        self.watched.observers.append(self)
        self._thread = threading.Thread(target=self._loop, name="hexmesh-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop after the current run (runs are not interrupted) and release connections."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self in self.watched.observers:
            self.watched.observers.remove(self)
        self.runtime.close()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        """Look for due products now (called when something published)."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # the scheduler must outlive any one bad pass
                log.exception("scheduler pass failed")
            self._wake.wait(self.poll_interval)
            self._wake.clear()

    # RunObserver: a run in this process published, so its dependents may be due.
    def run_started(self, product: DeployedProduct, run_id: str) -> None:
        return None

    def run_finished(self, product: DeployedProduct, result: RunResult) -> None:
        if result.status == "succeeded":
            self.wake()

    def run_failed(self, product: DeployedProduct, run_id: str, error: BaseException) -> None:
        return None

    # -- one pass -----------------------------------------------------------------------------

    def tick(self) -> list[Attempt]:
        """One pass over the mesh in dependency order; runs what is due; returns what it did.

        First, runs whose process died (kill -9, a lost node) are recorded as failed: a product that
        is never run again (manual trigger) must not show a run 'running' forever.
        """
        self.runtime.state.abandon_runs(None, ABANDONED)
        products = {f"{p.key}@{p.record.major}": p for p in live_versions(self.runtime)}
        graph: dict[str, list[str]] = {node: [] for node in products}
        for edge in edges(self.runtime, list(products.values())):
            upstream = f"{edge.upstream}@{edge.upstream_major}"
            if upstream in products:
                graph[f"{edge.consumer}@{edge.consumer_major}"].append(upstream)
        attempts = []
        for node in topological_order(graph):
            if self._stop.is_set():
                break
            if self.control.paused(products[node].key) or not self.runtime.settings.runs_here(products[node].key):
                continue
            due = self._due(products[node])
            if due is not None:
                attempt = self._attempt(products[node], *due)
                if attempt is not None:
                    attempts.append(attempt)
                    if self.on_attempt is not None:
                        self.on_attempt(attempt)
        return attempts

    def _due(self, product: DeployedProduct) -> tuple[str, str] | None:
        """(trigger, reason) when ``product`` should run now, else None."""
        node, now = f"{product.key}@{product.record.major}", self.clock()
        trigger = product.spec.trigger
        changed, signals, marker = self._pending(product)
        failure = self._failures.get(node)
        if failure is not None:
            if failure.marker != marker:
                del self._failures[node]  # an upstream published (or a source brought more): start afresh
            elif failure.count >= self.max_attempts:
                if failure.trigger != "cron":
                    return None  # given up until an upstream publishes or a source brings more
                changed = []  # a cron product tries again at its next fire time
            elif now < failure.retry_at:
                return None
            else:
                return failure.trigger, f"retry {failure.count} of {self.max_attempts - 1} after a failure"
        if changed:
            return "upstream", "new snapshot of " + ", ".join(where for where, _ in changed)
        if isinstance(trigger, SensorTrigger):
            return self._sensor_due(product, trigger, signals, now)
        if isinstance(trigger, CronTrigger):
            fire = self._next_fire(product, trigger.cron)
            if fire <= now:
                return "cron", f"cron {trigger.cron!r} fired at {fire.isoformat()}"
        return None

    def _pending(self, product: DeployedProduct) -> tuple[list[_Changed], list[Signal], tuple[Any, ...]]:
        """Changed upstreams, sensed sources, and a marker of both (a failed run waits for it to move)."""
        trigger = product.spec.trigger
        watches_upstream = trigger == "upstream" or (
            isinstance(trigger, CronTrigger | SensorTrigger) and trigger.upstream
        )
        changed = self._changed_upstreams(product) if watches_upstream else []
        signals: list[Signal] = []
        if isinstance(trigger, SensorTrigger):
            last = self._last_good(product)
            positions = last.details.get("inputs", {}) if last else {}
            confinement = product.confinement(self.runtime.settings)
            landing = self.runtime.storage if lands_in_objects(self.runtime.settings) else None
            signals = sensed(product, trigger, positions, confinement, last.started_us if last else 0, landing)
        return changed, signals, (*changed, *((s.port, s.mark) for s in signals))

    def _sensor_due(
        self, product: DeployedProduct, trigger: SensorTrigger, signals: list[Signal], now: datetime
    ) -> tuple[str, str] | None:
        """Due when a watched source has news, has been quiet ``debounce``, and ``minInterval`` has passed."""
        node = f"{product.key}@{product.record.major}"
        if not signals:
            self._sensed.pop(node, None)
            return None
        mark = "|".join(s.mark for s in signals)
        seen = self._sensed.get(node)
        if seen is None or seen[0] != mark:
            seen = self._sensed[node] = (mark, now)  # more arrived: the quiet period starts again
        debounce = parse_duration(trigger.debounce)
        if now - seen[1] < debounce:
            return None
        gap = parse_duration(trigger.min_interval)
        for run in self.runtime.state.runs(product.key, limit=50):
            if run.major == product.record.major and run.trigger == "sensor":
                if now < from_us(run.started_us) + gap:
                    return None
                break
        quiet = f" (quiet for {trigger.debounce})" if debounce.total_seconds() else ""
        return "sensor", "; ".join(s.what for s in signals) + quiet

    def _last_good(self, product: DeployedProduct) -> RunRecord | None:
        for run in self.runtime.state.runs(product.key, limit=50):
            if run.major == product.record.major and run.status in ("succeeded", "skipped"):
                return run
        return None

    def _changed_upstreams(self, product: DeployedProduct) -> list[_Changed]:
        """Upstream ports whose latest publication the product's last good run has not read."""
        read: dict[str, Any] = {}
        for run in self.runtime.state.runs(product.key, limit=50):
            if run.major == product.record.major and run.status in ("succeeded", "skipped"):
                read = run.details.get("inputs", {})
                break
        changed = []
        retired = self.runtime.state.retired()
        for edge in edges(self.runtime, [product]):
            if (edge.upstream, edge.upstream_major) in retired:
                continue  # nothing more will come; `hexmesh notices` tells the owner to move
            target = edge.upstream_port
            record = self.runtime.state.port(edge.upstream, edge.upstream_major, target)
            latest = self.runtime.state.latest_publication(record.id) if record else None
            if latest is None:
                continue
            position = read.get(edge.port, {})
            if position.get("major") != edge.upstream_major or position.get("snapshot_id") != latest.snapshot_id:
                where = f"dp://{edge.upstream}@{edge.upstream_major}/{target}"
                changed.append((where, latest.snapshot_id))
        local = {edge.port for edge in edges(self.runtime, [product])}
        return changed + self._changed_elsewhere(product, read, local)

    def _changed_elsewhere(self, product: DeployedProduct, read: dict[str, Any], local: set[str]) -> list[_Changed]:
        """Inputs another node serves (docs/adr/0033) whose latest snapshot there the last good run
        has not read: a poll of that node's snapshot listing on every pass. A node that does not
        answer is not news (the run would fail); it is polled again on the next pass."""
        settings = self.runtime.settings
        if not settings.peers:
            return []
        changed = []
        for port in product.spec.input_ports:
            if port.from_ is None or port.name in local:
                continue
            position = read.get(port.name, {})
            try:
                remote = locate(settings, product.spec, port, position.get("peer"), position.get("major"))
                latest = latest_snapshot(settings, remote, product.spec, port) if remote is not None else None
            except HexmeshError as exc:
                log.warning("%s: %s", product.key, exc)
                continue
            if remote is None or latest is None:
                continue
            if position.get("peer") != remote.peer or position.get("snapshot_id") != latest:
                changed.append((f"{port.from_} on {remote.peer}", latest))
        return changed

    def _next_fire(self, product: DeployedProduct, cron: str) -> datetime:
        from croniter import croniter  # type: ignore[import-untyped]

        base = self.started_at
        for run in self.runtime.state.runs(product.key, limit=50):
            # A run abandoned by a dead node did not happen: another node fires it again.
            abandoned = run.status == "failed" and (run.error or "").startswith("abandoned")
            if run.major == product.record.major and run.trigger == "cron" and not abandoned:
                base = max(base, from_us(run.started_us))
                break
        fire: datetime = croniter(cron, base).get_next(datetime)
        return fire

    def _attempt(self, product: DeployedProduct, trigger: str, reason: str) -> Attempt | None:
        node = f"{product.key}@{product.record.major}"
        lock, owner = f"sched:{node}", f"{self.node}:{uuid.uuid4().hex[:8]}"
        ttl_us = int(self.runtime.settings.lease_seconds * 1_000_000)
        with self.runtime.state.leased(lock, owner, ttl_us) as held:
            if held is None:
                return Attempt(product.key, product.record.major, trigger, reason, "busy")
            # Another node may have run it between our look and our lock: look again.
            if self._due(product) is None:
                return None
            return self._run(product, trigger, reason, self._pending(product)[2])

    def _run(self, product: DeployedProduct, trigger: str, reason: str, marker: tuple[Any, ...]) -> Attempt:
        key, major, node = product.key, product.record.major, f"{product.key}@{product.record.major}"
        try:
            result = run_product(self.runtime, key, major=major, trigger=trigger, reason=reason)
        except ConcurrentRunError as exc:
            return Attempt(key, major, trigger, reason, "busy", error=str(exc))
        except Exception as exc:  # contained: the product keeps serving its last good snapshot
            if not isinstance(exc, HexmeshError):
                log.exception("scheduled run of %s failed unexpectedly", node)
            before = self._failures.get(node)
            count = before.count + 1 if before else 1
            delay = min(self.backoff * 2 ** (count - 1), self.max_backoff)
            self._failures[node] = _Failure(count, self.clock() + timedelta(seconds=delay), trigger, marker)
            run = self.runtime.state.runs(key, limit=1)
            return Attempt(key, major, trigger, reason, "failed", run[0].id if run else None, str(exc))
        self._failures.pop(node, None)
        return Attempt(key, major, trigger, reason, result.status, result.run_id)
