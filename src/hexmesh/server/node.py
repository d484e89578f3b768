"""A node: one workspace served over the network, and the background work it does.

The node looks products up (404s name the closest names), and runs the emitter: every
published snapshot not yet on the event log is appended to it, and SLO breaches are appended
to the product's stream. Runs started anywhere (this node's control port, or ``hexmesh run``
in another process) are picked up, because the emitter follows the publication log.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import logging
import re
import time
from dataclasses import dataclass

from hexmesh.errors import HexmeshError, NotFoundError
from hexmesh.infra.events import EventLog, OffsetStore, open_event_log
from hexmesh.infra.state import VersionRecord
from hexmesh.lifecycle import Workspace
from hexmesh.product import DeployedProduct, OutputPortReader, RunResult, Runtime
from hexmesh.product.control import AuditLog, ControlState, Tokens
from hexmesh.product.deployed import live_versions
from hexmesh.product.discovery import Endpoints
from hexmesh.product.eventstream import emit_publications, publication_marker
from hexmesh.product.observability import port_health
from hexmesh.product.policy import PolicySidecar
from hexmesh.product.slo_events import breach_events

__all__ = ["Node", "NodeOptions"]

log = logging.getLogger(__name__)
#: SLO checks per emitter pass of ports that published nothing new.
_CHECKS = 20
_KEY = re.compile(r"^[a-z][a-z0-9-]*/[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class NodeOptions:
    base_url: str = "http://127.0.0.1:8080"
    events_url: str | None = None
    sql_dsn: str | None = None
    #: Seconds between two looks at the publication log (a run on this node wakes it at once).
    emit_interval: float = 0.1
    #: Seconds between two SLO evaluations of a port that published nothing new (freshness).
    slo_interval: float = 30.0
    #: Enforce tokens and policies on the HTTP ports (``hexmesh serve --auth``).
    auth: bool = False


class Node:
    """Everything the HTTP routes need, built once per server."""

    def __init__(self, workspace: Workspace, options: NodeOptions | None = None) -> None:
        self.workspace = workspace
        self.options = options or NodeOptions()
        home = workspace.settings.home
        self.log: EventLog = open_event_log(self.options.events_url, home)
        self.offsets = OffsetStore(home / "offsets.db")
        self.tokens = Tokens.load(home)
        self.control = ControlState(home)
        self.audit = AuditLog(home)
        self.endpoints = Endpoints(self.options.base_url.rstrip("/"), self.options.sql_dsn)
        self.open_streams = 0
        #: Decides every read when ``auth`` is on; None serves everything to everyone.
        self.sidecar = PolicySidecar(workspace.runtime) if self.options.auth else None
        self._checked: dict[str, float] = {}
        self._products: dict[str, DeployedProduct] = {}
        self._readers: list[OutputPortReader] = []
        self._news = asyncio.Event()
        self._poke = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        workspace.runtime.observers.append(self)

    # -- lookups ---------------------------------------------------------------------------

    @property
    def runtime(self) -> Runtime:
        return self.workspace.runtime

    def product(self, domain: str, name: str) -> DeployedProduct:
        key = f"{domain}/{name}"
        versions = self.runtime.state.versions(key) if _KEY.match(key) else []
        if versions:
            # The newest major that still serves; when every major is retired, load() says so.
            return self._cached(DeployedProduct.load(self.runtime, key).record)
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
        cached = self._products.get(record.product)
        if cached is None or cached.record != record:
            cached = self._products[record.product] = DeployedProduct(record)
        return cached

    def deployed(self) -> dict[str, DeployedProduct]:
        """The newest serving version of every product (cached specs: the emitter keeps them warm)."""
        return {key: self._cached(record) for key, record in live_versions(self.runtime).items()}

    def reader(self, domain: str, name: str, port: str) -> OutputPortReader:
        return OutputPortReader(self.workspace.runtime, self.product(domain, name), port)

    def readers(self) -> list[OutputPortReader]:
        found = []
        for product in self.deployed().values():
            for port in product.spec.output_ports:
                with contextlib.suppress(HexmeshError):
                    found.append(OutputPortReader(self.workspace.runtime, product, port.name))
        return found

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

    async def emit_once(self) -> int:
        """Append what is new on every port, then check those ports' SLOs; return new events."""
        new = 0
        self._readers = await asyncio.to_thread(self.readers)
        for reader in self._readers:
            try:
                added = await emit_publications(reader, self.log, self.offsets)
            except Exception:  # one broken port must not stop the others' events
                log.exception("emitting the events of %s failed", reader.address)
                continue
            if added:
                new += added
                self._announce()  # subscribers first: SLO checks can wait a moment
                new += await self._check(reader)
        return new

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

    def _due(self, address: str) -> bool:
        """SLO checks run on every new snapshot, and otherwise every ``slo_interval`` seconds."""
        return time.monotonic() - self._checked.get(address, -1e9) >= self.options.slo_interval

    async def _emit_forever(self) -> None:
        marker, scanned = -1, 0.0
        while True:
            # Probing for a new publication is one query; scanning every port is not, so scan
            # only when something was published (or a run here poked us), or for SLO checks.
            latest = await asyncio.to_thread(publication_marker, self.runtime)
            if latest != marker or time.monotonic() - scanned > self.options.slo_interval:
                await self.emit_once()
                marker, scanned = latest, time.monotonic()
            # A few SLO checks per pass, so a node with many products never stalls.
            await self.check_slos(_CHECKS)
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
