"""A node: one workspace served over the network, and the background work it does.

The node looks products up (404s name the closest names), and runs the emitter: every
published snapshot not yet on the event log is appended to it, and SLO breaches are appended
to the product's stream. Runs started anywhere (this node's control port, or ``hexmesh run``
in another process) are picked up, because the emitter follows the publication log.

On a shared log (NATS) the nodes of a cluster take turns: a port's events are appended by the one
node that holds its emission lease, among the nodes whose ``placement`` includes the product, from
the position every node shares in the state store (ADR 0025).
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import hashlib
import json
import logging
import math
import os
import re
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.encoders import jsonable_encoder

from hexmesh.cache import BoundedCache
from hexmesh.errors import HexmeshError, NotFoundError
from hexmesh.infra.events import EventLog, NatsAuth, OffsetStore, open_event_log
from hexmesh.infra.state import Heartbeat, VersionRecord
from hexmesh.lifecycle import Workspace
from hexmesh.mesh.emit import lineage_observer
from hexmesh.product import DeployedProduct, OutputPortReader, RunResult, Runtime
from hexmesh.product.authority import Authority
from hexmesh.product.control import AuditLog, ControlState, Tokens
from hexmesh.product.deployed import live_majors, live_versions, split_major
from hexmesh.product.deprecation import deprecated, http_headers, serving_deprecation
from hexmesh.product.discovery import Endpoints, describe, document_version
from hexmesh.product.eventstream import emit_publications, published_since
from hexmesh.product.examples import results_written
from hexmesh.product.membership import events_namespace, join_cluster
from hexmesh.product.observability import port_health
from hexmesh.product.policy import PolicySidecar
from hexmesh.product.slo_events import breach_events

__all__ = ["Document", "Node", "NodeOptions", "Service"]

log = logging.getLogger(__name__)
#: SLO checks per second, at most, of ports that published nothing new (spread over passes).
_CHECKS_PER_S = 200
#: Seconds between two emissions over every port (a safety net: normally only ports with new
#: publications are visited, e.g. after a commit the publication ids did not order).
_FULL_EMIT_S = 300.0
#: Seconds after a port's emission before its SLOs are checked.
_SLO_AFTER_EMIT_S = 1.0
#: A long-running network service of a node: runs until its event is set, then returns.
Service = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
_KEY = re.compile(r"^[a-z][a-z0-9-]*/[a-z][a-z0-9-]*$")
#: Discovery documents kept (one per product); beyond it the least recently used is dropped.
_DOCUMENTS = 10_000
#: Seconds between two looks in object storage for README example results not written yet.
_EXAMPLES_RECHECK = 1.0


@dataclass(frozen=True)
class NodeOptions:
    base_url: str = "http://127.0.0.1:8080"
    events_url: str | None = None
    sql_dsn: str | None = None
    #: Seconds between two looks at the publication log (a run on this node wakes it at once);
    #: one indexed query per look, and half of it is the average delay of a new event.
    emit_interval: float = 0.05
    #: Seconds between two SLO evaluations of a port that published nothing new (freshness).
    slo_interval: float = 30.0
    #: Enforce tokens and policies on the HTTP ports (``hexmesh serve``; off with ``--no-auth``).
    auth: bool = True
    #: Make this node's governance files the cluster's (they changed on purpose, on every node).
    accept_governance: bool = False


@dataclass(frozen=True)
class Document:
    """A product's discovery document, built once per version of what it says, as served bytes."""

    version: tuple[Any, ...]
    built: float
    content: dict[str, Any]
    body: bytes
    etag: str


class Node:
    """Everything the HTTP routes need, built once per server."""

    def __init__(self, workspace: Workspace, options: NodeOptions | None = None) -> None:
        self.workspace = workspace
        self.options = options or NodeOptions()
        home = workspace.settings.home
        events_url = self.options.events_url if self.options.events_url is not None else workspace.settings.events_url
        # A node missing the cluster's secrets or rules stops here, before it serves anything.
        join_cluster(workspace.runtime, accept_governance=self.options.accept_governance)
        self.log: EventLog = open_event_log(
            events_url,
            home,
            nats=NatsAuth.from_settings(workspace.settings),
            namespace=events_namespace(workspace.runtime) if events_url else "hexmesh",
        )
        #: A shared log's positions are shared too; the embedded log is this node's own (offsets.py).
        self.shared_log = bool(events_url)
        self.offsets = OffsetStore(workspace.runtime.state.db if self.shared_log else home / "offsets.db")
        self.node_id = f"{workspace.settings.node_name}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.tokens = Tokens.load(workspace.settings, workspace.runtime.state.db)
        self.control = ControlState(workspace.runtime.state.db)
        self.audit = AuditLog(workspace.runtime.state.db)
        self.endpoints = Endpoints(self.options.base_url.rstrip("/"), self.options.sql_dsn)
        self.open_streams = 0
        #: Decides every read when ``auth`` is on; None serves everything to everyone.
        self.sidecar = PolicySidecar(workspace.runtime) if self.options.auth else None
        self._policies = self.sidecar
        self._authority: Authority | None = None
        self._checked: dict[str, float] = {}
        self._products: dict[tuple[str, int], DeployedProduct] = {}
        self._documents: BoundedCache[str, Document] = BoundedCache(_DOCUMENTS)
        #: Per (product, version): True once its README examples' results exist, else when storage was last asked.
        self._examples: BoundedCache[tuple[str, str], bool | float] = BoundedCache(_DOCUMENTS)
        self._readers: list[OutputPortReader] = []
        self._reader_cache: dict[tuple[str, int, str], OutputPortReader] = {}
        #: Ports (product key, major, port) whose emission failed: visited again on the next pass.
        self._retry: set[tuple[str, int, str]] = set()
        self._news = asyncio.Event()
        self._poke = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        workspace.runtime.observers.append(self)
        lineage = lineage_observer(workspace.settings)  # runs on this node report their lineage (a setting)
        if lineage is not None and not any(isinstance(o, type(lineage)) for o in workspace.runtime.observers):
            workspace.observe(lineage)

    # -- lookups ---------------------------------------------------------------------------

    @property
    def runtime(self) -> Runtime:
        return self.workspace.runtime

    @property
    def authority(self) -> Authority:
        """Who may administer this node's products and the mesh (owners, operator and governance roles)."""
        if self._authority is None:
            self._authority = Authority(self.policies, self.tokens, self.audit)
        return self._authority

    @property
    def policies(self) -> PolicySidecar:
        """The products' policies and API tokens, even on a node that does not enforce them on reads
        (the control port always wants a credential)."""
        if self._policies is None:
            self._policies = PolicySidecar(self.workspace.runtime)
        return self._policies

    def product(self, domain: str, name: str) -> DeployedProduct:
        """The product ``domain/name`` as served: its newest live major, or ``name@N``'s major N.

        A retired major is gone from every port (404 naming its successor).
        """
        base, major = split_major(name)
        key = f"{domain}/{base}"
        versions = self.runtime.state.versions(key) if _KEY.match(key) else []
        if versions:
            # The newest major that still serves; when every major is retired, load() says so.
            return self._cached(DeployedProduct.load(self.runtime, key, major=major).record)
        deployed = sorted({v.product for v in self.runtime.state.versions()})
        close = difflib.get_close_matches(key, deployed, n=3, cutoff=0.5)
        hint = (
            f"did you mean {', '.join(close)}?"
            if close
            else (f"known: {', '.join(deployed[:20])}" if deployed else "none is deployed yet")
        )
        raise NotFoundError(f"no product {key!r} on this node; {hint}")

    def _cached(self, record: VersionRecord) -> DeployedProduct:
        # Parsing a spec costs milliseconds: keep the product while its newest version stays.
        key = (record.product, record.major)
        cached = self._products.get(key)
        if cached is None or cached.record != record:
            cached = self._products[key] = DeployedProduct(record)
        return cached

    def deployed(self) -> dict[str, DeployedProduct]:
        """The newest serving version of every product (cached specs: the emitter keeps them warm)."""
        return {key: self._cached(record) for key, record in live_versions(self.runtime).items()}

    def _examples_written(self, key: str, version: str) -> bool:
        """Whether ``version``'s README example results are in object storage (ADR 0037).

        They are written once per version, just after its deploy, maybe by another node. Once
        found, that is remembered (no storage round trip per discovery request); until then,
        storage is asked at most once every ``_EXAMPLES_RECHECK`` seconds.
        """
        seen = self._examples.get((key, version))
        now = time.monotonic()
        if seen is True or (seen is not None and now - seen < _EXAMPLES_RECHECK):
            return seen is True
        written = results_written(self.runtime.storage, key, version)
        self._examples.put((key, version), True if written else now)
        return written

    def discovery(self, domain: str, name: str) -> Document:
        """The discovery document of a product, rebuilt only when what it says may have changed.

        The version is one query (versions, majors, publications, runs, governance checks) plus
        the control port's state (lifecycle, replaced policies). SLO status also moves with the
        clock, so a document is rebuilt at least every ``slo_interval`` seconds, the cadence at
        which the emitter checks SLOs.
        """
        key = f"{domain}/{split_major(name)[0]}"
        found = document_version(self.runtime, key) if _KEY.match(key) else None
        if found is None:
            self.product(domain, name)  # the 404 that names the closest products
            raise NotFoundError(f"no product {key!r} on this node")
        product = self.product(domain, name)  # a retired major is a 404 here too
        # Each major has its own document: cached by the name it was asked for (``name@N``).
        served = f"{product.key}@{product.record.major}"
        # The README examples' results are written just after a deploy, maybe by another node.
        examples = self._examples_written(product.key, product.record.version)
        version = (*found, json.dumps(self.control.get(key), sort_keys=True, default=str), examples)
        cached = self._documents.get(served)
        if (
            cached is not None
            and cached.version == version
            and time.monotonic() - cached.built < self.options.slo_interval
        ):
            return cached
        lifecycle = self.control.lifecycle(product.key, product.spec.status)
        if lifecycle != "retired" and deprecated(self.runtime, product.key, product.record.major) is not None:
            lifecycle = "deprecated"  # this major is, whatever the product's newest says
        content = jsonable_encoder(describe(self.runtime, product, self.endpoints, lifecycle))
        body = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        return self._documents.put(served, Document(version, time.monotonic(), content, body, etag))

    def deprecation_headers(self, domain: str, name: str) -> dict[str, str]:
        """``Deprecation``, ``Sunset`` and successor ``Link`` headers when the major served (``name`` or
        ``name@N``) is deprecated."""
        base, major = split_major(name)
        key = f"{domain}/{base}"
        state = serving_deprecation(self.runtime, key) if major is None else deprecated(self.runtime, key, major)
        return {} if state is None else http_headers(state, self.endpoints.base_url)

    def reader(self, domain: str, name: str, port: str) -> OutputPortReader:
        return OutputPortReader(self.workspace.runtime, self.product(domain, name), port)

    def readers(self) -> list[OutputPortReader]:
        """A reader per output port of every live major of every product (kept while the version stays)."""
        found, cache = [], {}
        for product in (self._cached(record) for record in live_majors(self.runtime)):
            for port in product.spec.output_ports:
                key = (product.key, product.record.major, port.name)
                reader = self._reader_cache.get(key)
                if reader is None or reader.product is not product:
                    try:
                        reader = OutputPortReader(self.workspace.runtime, product, port.name)
                    except HexmeshError:
                        continue
                cache[key] = reader
                found.append(reader)
        self._reader_cache = cache
        return found

    # -- the SQL port ------------------------------------------------------------------------

    def sql_service(self, host: str, port: int, *, tls: tuple[Path, Path] | None = None) -> Service:
        """The SQL port of this node's workspace, as a service that runs until its stop event is set.

        With ``auth``, API tokens authenticate over TLS (``tls``: certificate and key files, else a
        self-signed certificate in the workspace) and the policy sidecar decides every statement.
        """
        from hexmesh.infra.tls import self_signed, server_context
        from hexmesh.product.policy import SqlPolicy
        from hexmesh.product.sql import sql_service
        from hexmesh.product.sql.auth import TokenAuthenticator

        if not self.options.auth:
            return sql_service(self.workspace, host, port)
        cert, key = tls or self_signed(self.workspace.settings.home / "tls", host)
        sidecar = PolicySidecar(self.workspace.runtime)  # its own: statements never wait on HTTP's
        return sql_service(
            self.workspace,
            host,
            port,
            TokenAuthenticator(sidecar),
            policy=SqlPolicy(sidecar),
            ssl_context=server_context(cert, key),
        )

    # -- news for subscribers ----------------------------------------------------------------

    async def wait_for_news(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._news.wait(), timeout)

    def _announce(self) -> None:
        self._news.set()
        self._news = asyncio.Event()

    # -- RunObserver: a run on this node wakes the emitter at once -----------------------------

    def run_started(self, product: DeployedProduct, run_id: str) -> None:
        pass

    def run_finished(self, product: DeployedProduct, result: RunResult) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._poke.set)

    def run_failed(self, product: DeployedProduct, run_id: str, error: BaseException) -> None:
        pass

    # -- the emitter ------------------------------------------------------------------------

    async def emit_once(self, only: set[tuple[str, int, str]] | None = None) -> int:
        """Append what is new on every port (or ``only`` these); return new events (SLO checks follow)."""
        new = 0
        self._readers = await asyncio.to_thread(self.readers)
        for reader in self._readers:
            key = (reader.product.key, reader.product.record.major, reader.spec.name)
            if only is not None and key not in only:
                continue
            self._retry.discard(key)
            try:
                added = await self._emit(reader)
            except Exception:  # one broken port must not stop the others' events
                log.exception("emitting the events of %s failed", reader.address)
                self._retry.add(key)
                continue
            if added:
                new += added
                self._announce()
                # Subscribers first: the port's SLO check (which may summarise the whole new
                # snapshot) runs in a later pass, once the events were delivered.
                self._checked[reader.address] = time.monotonic() - self.options.slo_interval + _SLO_AFTER_EMIT_S
        return new

    async def _emit(self, reader: OutputPortReader) -> int:
        # Subscribers are woken after every append, not once the whole snapshot is on the log.
        def announce(_: int) -> None:
            self._announce()

        if not self.shared_log:
            return await emit_publications(reader, self.log, self.offsets, announce)
        if not self.workspace.settings.runs_here(reader.product.key):
            self._announce()  # another node appends them: this node's subscribers look at the log
            return 0
        ttl_us = int(self.workspace.settings.lease_seconds * 1_000_000)
        major = reader.product.record.major
        lease = f"emit:{reader.product.key}@{major}/{reader.spec.name}"
        state = self.runtime.state
        if await asyncio.to_thread(state.acquire_lock, lease, self.node_id, ttl_us) is not None:
            self._retry.add((reader.product.key, major, reader.spec.name))  # its holder appends; look again later
            self._announce()
            return 0
        beat = Heartbeat(state, lease, self.node_id, ttl_us)
        try:
            return await emit_publications(reader, self.log, self.offsets, announce)
        finally:
            beat.stop()
            await asyncio.to_thread(state.release_lock, lease, self.node_id)

    async def check_slos(self, budget: int = 20) -> int:
        """Check the SLOs of up to ``budget`` ports whose turn has come (time-based ones)."""
        new = 0
        due = [r for r in self._readers if self._due(r.address)]
        for reader in due[:budget]:
            new += await self._check(reader)
        return new

    async def _check(self, reader: OutputPortReader) -> int:
        self._checked[reader.address] = time.monotonic()
        try:
            health = await asyncio.to_thread(port_health, reader)
            breaches = await breach_events(reader, health, self.log)
        except Exception:
            log.exception("checking the SLOs of %s failed", reader.address)
            return 0
        if breaches:
            self._announce()
        return breaches

    def _slo_budget(self) -> int:
        """SLO checks per pass: every port once per ``slo_interval``, at most ``_CHECKS_PER_S`` a second."""
        passes = max(1.0, self.options.slo_interval / self.options.emit_interval)
        ceiling = max(1, round(_CHECKS_PER_S * self.options.emit_interval))
        return min(ceiling, max(1, math.ceil(len(self._readers) / passes)))

    def _due(self, address: str) -> bool:
        """SLO checks run on every new snapshot, and otherwise every ``slo_interval`` seconds."""
        return time.monotonic() - self._checked.get(address, -1e9) >= self.options.slo_interval

    async def _emit_forever(self) -> None:
        marker, emitted_all, listed = -1, -1e9, -1e9
        while True:
            # Probing for new publications is one query; visiting every port is not, so visit
            # only the ports that published (and any that failed), and all of them rarely.
            latest, changed = await asyncio.to_thread(published_since, self.runtime, max(marker, 0))
            now = time.monotonic()
            if marker < 0 or now - emitted_all > _FULL_EMIT_S:
                await self.emit_once()
                emitted_all = listed = now
            elif changed:
                await self.emit_once(changed | self._retry)
                listed = now
            elif now - listed > self.options.slo_interval:
                # Ports that failed are tried again now and then; new deployments join SLO checks.
                if self._retry:
                    await self.emit_once(set(self._retry))
                else:
                    self._readers = await asyncio.to_thread(self.readers)
                listed = now
            marker = latest
            # A few SLO checks per pass, spread evenly over the SLO interval: a node with many
            # products never stalls, and never checks in bursts that slow every request down.
            await self.check_slos(self._slo_budget())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), self.options.emit_interval)
            self._poke.clear()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._news, self._poke = asyncio.Event(), asyncio.Event()
        self._task = asyncio.create_task(self._emit_forever(), name="hexmesh-emitter")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._news.set()
        await self.log.close()
        self.offsets.close()
