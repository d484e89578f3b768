"""Send OpenLineage events for every run: a :class:`RunObserver` with file and HTTP transports.

Switched on by a setting (``openlineage_url``: ``http(s)://…`` for Marquez or any OpenLineage
endpoint, ``file:///…`` for JSON lines), see :func:`lineage_observer`. Lineage is an observer of
runs, never a dependency of them: a transport that fails (a full disk, an endpoint that is down
or slow) is logged and the run goes on.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from hexmesh.errors import WorkspaceError
from hexmesh.mesh.openlineage import batch_event, run_event
from hexmesh.spec import inside

if TYPE_CHECKING:
    from hexmesh.infra.settings import Settings
    from hexmesh.product.deployed import DeployedProduct
    from hexmesh.product.runner import RunResult

__all__ = ["FileTransport", "HttpTransport", "OpenLineageObserver", "Transport", "lineage_observer"]

log = logging.getLogger(__name__)


class Transport(Protocol):
    """Delivers one event; may raise (the observer logs and carries on)."""

    def send(self, event: dict[str, Any]) -> None: ...


class FileTransport:
    """Append each event as one JSON line (what Marquez's and OpenLineage's file readers take)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def send(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(line)


class HttpTransport:
    """POST each event as JSON (Marquez: ``http://host:5000/api/v1/lineage``)."""

    def __init__(self, url: str, *, timeout: float = 5.0, headers: dict[str, str] | None = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{url!r} is not an http(s) URL; write http://host:port/api/v1/lineage")
        self.url, self.timeout = url, timeout
        self.headers = {"Content-Type": "application/json", **(headers or {})}

    def send(self, event: dict[str, Any]) -> None:
        body = json.dumps(event).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, headers=self.headers, method="POST")
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            response.read()


class OpenLineageObserver:
    """Emits START, then COMPLETE or FAIL, for every run of every product in a workspace."""

    def __init__(self, transport: Transport, *, namespace: str = "hexmesh") -> None:
        self.transport = transport
        self.namespace = namespace
        #: Events that could not be delivered since the observer started.
        self.failures = 0
        #: The run of every product (``run --all``) the runs now happening belong to.
        self.parent: tuple[str, str, str] | None = None

    def batch_started(self, batch_id: str) -> None:
        self.parent = (batch_id, self.namespace, "run-all")
        self._send("START", batch_event("START", batch_id, namespace=self.namespace))

    def batch_finished(self, batch_id: str, failed: list[str]) -> None:
        self.parent = None
        kind = "FAIL" if failed else "COMPLETE"
        self._send(kind, batch_event(kind, batch_id, namespace=self.namespace, failed=failed))

    def _send(self, kind: str, event: dict[str, Any]) -> None:
        try:
            self.transport.send(event)
        except Exception:  # lineage must never fail a run
            self.failures += 1
            log.warning("could not send the OpenLineage %s event of run %s", kind, event["run"]["runId"], exc_info=True)

    def run_started(self, product: DeployedProduct, run_id: str) -> None:
        self._emit("START", product, run_id)

    def run_finished(self, product: DeployedProduct, result: RunResult) -> None:
        self._emit("COMPLETE", product, result.run_id, rows=result.rows, checks=result.checks)

    def run_failed(self, product: DeployedProduct, run_id: str, error: BaseException) -> None:
        self._emit("FAIL", product, run_id, error=error)

    def _emit(self, kind: str, product: DeployedProduct, run_id: str, **details: Any) -> None:
        try:
            docs = inside(product.bundle, product.spec.docs)
            event = run_event(
                kind,
                product.spec,
                run_id,
                namespace=self.namespace,
                bundle=product.bundle,
                docs=docs.read_text(encoding="utf-8") if docs and docs.is_file() else "",
                parent=self.parent,
                **details,
            )
        except Exception:  # lineage must never fail a run
            self.failures += 1
            log.warning("could not build the OpenLineage %s event of run %s", kind, run_id, exc_info=True)
            return
        self._send(kind, event)


def lineage_observer(settings: Settings) -> OpenLineageObserver | None:
    """The observer the settings ask for (``openlineage_url``), or None when lineage is off."""
    url = settings.openlineage_url.strip()
    if not url:
        return None
    if url.startswith("file://"):
        transport: Transport = FileTransport(Path(url.removeprefix("file://")))
    elif url.startswith(("http://", "https://")):
        key = settings.openlineage_api_key
        transport = HttpTransport(url, headers={"Authorization": f"Bearer {key}"} if key else None)
    else:
        raise WorkspaceError(
            f"openlineage_url {url!r} is neither http(s):// nor file://; write http://host:5000/api/v1/lineage "
            "(Marquez) or file:///path/events.jsonl (settings.yaml or HEXMESH_OPENLINEAGE_URL)"
        )
    return OpenLineageObserver(transport, namespace=settings.openlineage_namespace)
