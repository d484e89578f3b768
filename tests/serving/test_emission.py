"""Emitting a publication: bounded batches, first ones small, stable ids, at least once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from hexmesh.infra.events import Event, OffsetStore, open_event_log
from hexmesh.infra.events.embedded import EmbeddedLog
from hexmesh.lifecycle import Workspace
from hexmesh.product.eventstream import BATCH, FIRST_BATCH, emit_publications, port_stream
from tests.server.nodes import add_orders, build_workspace

ROWS = 5_000


def test_a_large_publication_reaches_the_log_in_bounded_batches_first_small(tmp_path: Path) -> None:
    home, shop = build_workspace(tmp_path, big=False)  # one publication of 3 rows
    add_orders(shop, "2026-01-02", ROWS, 1_000)
    appended: list[int] = []
    with Workspace.open(home) as workspace:
        workspace.run("sales/shop")
        reader = workspace.reader("dp://sales/shop/orders")
        log, offsets = open_event_log(None, home), OffsetStore(home / "offsets.db")
        try:
            total = asyncio.run(emit_publications(reader, log, offsets, appended.append))
            events = asyncio.run(log.read(port_stream("sales/shop", "orders", 0), 0, 2 * ROWS))
        finally:
            asyncio.run(log.close())
            offsets.close()
    # Subscribers are woken after each append: the first one of a publication is small.
    rest = ROWS - FIRST_BATCH
    assert appended == [3, FIRST_BATCH] + [BATCH] * (rest // BATCH) + [rest % BATCH]
    assert total == len(events) == ROWS + 3
    snapshot = events[-1].body["snapshotid"]
    assert [e.id for e in events[3:]] == [f"{snapshot}-{i}" for i in range(ROWS)]  # in order, stable
    assert events[3].body["data"]["ordered_at"].endswith(".000000Z")  # the one ISO form of every format


def test_re_emitting_after_a_crash_stores_nothing_twice(tmp_path: Path) -> None:
    home, shop = build_workspace(tmp_path, big=False)
    add_orders(shop, "2026-01-02", 2_500, 1_000)
    with Workspace.open(home) as workspace:
        workspace.run("sales/shop")
        reader = workspace.reader("dp://sales/shop/orders")
        stream = port_stream("sales/shop", "orders", 0)
        log, offsets = open_event_log(None, home), OffsetStore(home / "offsets.db")
        try:
            first = asyncio.run(emit_publications(reader, log, offsets))
            # As if the node died while appending the second publication: its position was
            # not stored yet, so the next emitter appends that publication again.
            offsets.mark_emitted(stream, reader.publications()[0].snapshot_id)
            again = asyncio.run(emit_publications(reader, log, offsets))
            events = asyncio.run(log.read(stream, 0, 10_000))
        finally:
            asyncio.run(log.close())
            offsets.close()
    assert first == 2_503 and again == 0
    assert len(events) == len({e.id for e in events}) == 2_503


class Appends(EmbeddedLog):
    """The embedded log, counting the events each append is handed (stored or dropped as duplicates)."""

    handed = 0

    async def append(self, stream: str, events: Sequence[Event]) -> int:
        Appends.handed += len(events)
        return await super().append(stream, events)


def test_a_node_joining_a_shared_log_late_appends_no_history(tmp_path: Path) -> None:
    home, shop = build_workspace(tmp_path, big=False)
    add_orders(shop, "2026-01-02", 500, 1_000)
    with Workspace.open(home) as workspace:
        workspace.run("sales/shop")
        reader = workspace.reader("dp://sales/shop/orders")
        shared = workspace.runtime.state.db  # a shared log's positions live in the shared state store
        log = Appends(tmp_path / "shared-log.db")
        try:
            first = asyncio.run(emit_publications(reader, log, OffsetStore(shared)))
            handed_first, Appends.handed = Appends.handed, 0
            late = asyncio.run(emit_publications(reader, log, OffsetStore(shared)))  # a new node's emitter
            handed_late = Appends.handed
            # A node keeping positions of its own (as before) would hand the whole history again.
            Appends.handed = 0
            asyncio.run(emit_publications(reader, log, OffsetStore(tmp_path / "node-b" / "offsets.db")))
        finally:
            asyncio.run(log.close())
    assert first == handed_first == 503
    assert late == handed_late == 0
    assert Appends.handed == 503
