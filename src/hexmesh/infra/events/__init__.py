"""Event logs: an append-only, replayable log per stream; embedded by default, NATS JetStream by URL.

One Protocol, one module per backend, a lazy registry (:func:`open_event_log`): importing this
package never imports nats-py.
"""

from __future__ import annotations

from pathlib import Path

from hexmesh.errors import WorkspaceError
from hexmesh.infra.events.credentials import NatsAuth
from hexmesh.infra.events.log import Event, EventLog, StoredEvent
from hexmesh.infra.events.offsets import OffsetStore

__all__ = ["Event", "EventLog", "NatsAuth", "OffsetStore", "StoredEvent", "open_event_log"]


def open_event_log(
    url: str | None, home: Path, *, nats: NatsAuth | None = None, namespace: str = "hexmesh"
) -> EventLog:
    """The embedded log under ``home`` (no URL), or NATS JetStream (``nats://host:port``, with ``nats``
    credentials, in the stream and subjects named ``namespace``)."""
    if not url or url == "embedded":
        from hexmesh.infra.events.embedded import EmbeddedLog

        return EmbeddedLog(home / "events.db")
    if url.startswith(("nats://", "tls://")):
        from hexmesh.infra.events.nats import JetStreamLog

        return JetStreamLog(url, auth=nats, namespace=namespace)
    raise WorkspaceError(
        f"event log URL {url!r} is not understood; leave it empty for the embedded log "
        "or give nats://host:port for NATS JetStream"
    )
