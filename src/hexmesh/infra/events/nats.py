"""NATS JetStream as the event log: one JetStream stream per mesh, one subject per hexmesh stream.

The stream is named after the mesh (``namespace``, by default ``hexmesh-<mesh id>``) and so is the
first token of its subjects, so meshes sharing one NATS server never mix their events.

Appends carry ``Nats-Msg-Id`` (the stream and event id), so JetStream drops a re-emitted event
within its duplicate window. Reads create a short-lived ordered pull consumer at a sequence.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from hexmesh.errors import WorkspaceError
from hexmesh.infra.events.credentials import NatsAuth, redacted
from hexmesh.infra.events.log import Event, StoredEvent

__all__ = ["JetStreamLog"]

log = logging.getLogger(__name__)

_NAMESPACE = "hexmesh"
#: What NATS allows in a stream name and a subject token.
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: What NATS says when it refuses a client's credentials.
_REFUSED = re.compile(r"authori[sz]ation|authentication", re.IGNORECASE)
#: Seconds a node tries to connect before it says why it cannot.
_CONNECT_S = 20.0
#: Publishes in flight at once.
_WINDOW = 500
#: Consumers kept for subscribers that read on (each expires on the server when idle).
_CURSORS = 256
#: Seconds the server keeps an idle read's consumer.
_INACTIVE_S = 30.0
#: How long a read waits for events the stream holds, tried in turn (seconds): quick when the server
#: is, patient when it is busy.
_FETCH_TIMEOUTS = (0.25, 1.0, 4.0)


def subject(stream: str, namespace: str = _NAMESPACE) -> str:
    """``port:sales/shop/orders`` → ``<namespace>.port.sales.shop.orders`` (names hold no dots)."""
    kind, _, key = stream.partition(":")
    return f"{namespace}.{kind}.{key.replace('/', '.')}"


def check_namespace(namespace: str) -> str:
    """``namespace`` when NATS accepts it as a stream name and a subject token, else a clear error."""
    if not _NAME.match(namespace):
        raise WorkspaceError(
            f"events_namespace {namespace!r} cannot name a NATS stream: use 1-64 letters, digits, '-' or '_' "
            "(no dots, spaces, '*' or '>'), e.g. hexmesh-sales"
        )
    return namespace


class JetStreamLog:
    """Event log on a NATS server with JetStream enabled."""

    def __init__(self, url: str, *, namespace: str = _NAMESPACE, auth: NatsAuth | None = None) -> None:
        self.url = url
        self.stream = check_namespace(namespace)
        self.auth = auth or NatsAuth()
        self._nc: Any = None
        self._js: Any = None
        #: (stream, last seq read) → the consumer that read it, and when.
        self._cursors: dict[tuple[str, int], tuple[Any, float]] = {}

    async def _context(self) -> Any:
        if self._js is None:
            try:
                import nats
                from nats.js.api import StreamConfig
            except ImportError as exc:  # pragma: no cover - nats-py ships with the server extra
                raise WorkspaceError("NATS needs nats-py: pip install 'hexmesh[server]'") from exc
            options = self.auth.options()
            seen: list[Exception] = []

            async def remember(error: Exception) -> None:
                seen.append(error)  # the server's reason (an authorization violation) comes here
                log.warning("NATS at %s: %s", redacted(self.url), error)

            try:
                # Bounded: a TLS failure makes nats-py retry without counting the attempts.
                connecting = nats.connect(
                    self.url, connect_timeout=5, max_reconnect_attempts=3, error_cb=remember, **options
                )
                self._nc = await asyncio.wait_for(connecting, _CONNECT_S)
            except Exception as exc:
                where, why = redacted(self.url), " ".join(str(e) for e in [*seen[-1:], exc])
                # Any attempt refused for credentials says so, even if a later one only saw the
                # connection reset that follows a refusal.
                refusals = [str(e) for e in [*seen, exc] if _REFUSED.search(str(e))]
                if refusals:
                    raise WorkspaceError(
                        f"NATS at {where} refused this node's credentials ({refusals[0]}); set the events_nats_* "
                        "settings (user and password, token, nkey, creds, TLS) to what the server expects"
                    ) from None
                raise WorkspaceError(f"cannot reach NATS at {where}: {why}") from None
            self._js = self._nc.jetstream()
            config = StreamConfig(name=self.stream, subjects=[self.stream + ".>"], duplicate_window=3600)
            try:
                await self._js.add_stream(config)
            except Exception:
                await self._js.update_stream(config)
        return self._js

    async def append(self, stream: str, events: Sequence[Event]) -> int:
        js = await self._context()
        new = 0
        for first in range(0, len(events), _WINDOW):
            # A window of publishes in flight at once; JetStream acks each (and flags duplicates).
            acks = await asyncio.gather(
                *(
                    js.publish(
                        subject(stream, self.stream),
                        json.dumps(event.body, separators=(",", ":")).encode(),
                        stream=self.stream,
                        headers={"Nats-Msg-Id": f"{stream}|{event.id}"},
                    )
                    for event in events[first : first + _WINDOW]
                )
            )
            new += sum(0 if ack.duplicate else 1 for ack in acks)
        return new

    async def read(self, stream: str, after: int, limit: int) -> list[StoredEvent]:
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        js = await self._context()
        if await self.last_seq(stream) <= after:
            return []
        # A subscriber reads on from where its last read ended: reuse that read's consumer, unless
        # the server may have dropped it for idling (then a fetch would wait for nothing).
        kept = self._cursors.pop((stream, after), None)
        sub = kept[0] if kept is not None and time.monotonic() - kept[1] < _INACTIVE_S / 2 else None
        if kept is not None and sub is None:
            with contextlib.suppress(Exception):
                await kept[0].unsubscribe()
        messages = await self._fetch(sub, limit) if sub is not None else []
        if not messages:  # last_seq says the events are there: read them with a consumer of its own
            if sub is not None:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()
            config = ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=after + 1,
                ack_policy=AckPolicy.NONE,
                inactive_threshold=_INACTIVE_S,
                mem_storage=True,
            )
            sub = await js.pull_subscribe(subject(stream, self.stream), stream=self.stream, config=config)
            messages = await self._fetch(sub, limit)
        events = [
            StoredEvent(
                m.metadata.sequence.stream,
                stream,
                (m.headers or {}).get("Nats-Msg-Id", "").partition("|")[2],
                int(m.metadata.timestamp.timestamp() * 1_000_000),
                m.data.decode(),
            )
            for m in messages
        ]
        await self._keep(stream, events[-1].seq if events else after, sub)
        return events

    @staticmethod
    async def _fetch(sub: Any, limit: int) -> list[Any]:
        for timeout in _FETCH_TIMEOUTS:
            try:
                messages: list[Any] = await sub.fetch(limit, timeout=timeout)
                return messages
            except TimeoutError:
                # last_seq says the events are there: a busy server answers late, not never.
                continue
        return []

    async def _keep(self, stream: str, after: int, sub: Any) -> None:
        if len(self._cursors) >= _CURSORS:
            _, (oldest, _used) = self._cursors.popitem()
            with contextlib.suppress(Exception):
                await oldest.unsubscribe()
        self._cursors[(stream, after)] = (sub, time.monotonic())

    async def seq_before(self, stream: str, appended_us: int) -> int:
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        js = await self._context()
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_TIME,
            opt_start_time=datetime.fromtimestamp(appended_us / 1e6, UTC),
            ack_policy=AckPolicy.NONE,
            inactive_threshold=30.0,
        )
        sub = await js.pull_subscribe(subject(stream, self.stream), stream=self.stream, config=config)
        try:
            messages = await sub.fetch(1, timeout=0.5)
        except TimeoutError:
            return await self.last_seq(stream)
        finally:
            await sub.unsubscribe()
        return int(messages[0].metadata.sequence.stream) - 1 if messages else 0

    async def last_seq(self, stream: str) -> int:
        from nats.js.errors import NotFoundError

        js = await self._context()
        try:
            message = await js.get_last_msg(self.stream, subject(stream, self.stream))
        except NotFoundError:
            return 0
        return int(message.seq or 0)

    async def close(self) -> None:
        for sub, _used in self._cursors.values():
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._cursors.clear()
        if self._nc is not None:
            await self._nc.close()
            self._nc = self._js = None
