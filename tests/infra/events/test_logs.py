"""Event logs: the embedded default and NATS JetStream behave the same."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from hexmesh.errors import WorkspaceError
from hexmesh.infra.events import Event, EventLog, OffsetStore, open_event_log
from hexmesh.infra.events import nats as nats_log
from tests.stacks import nats_server


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with nats_server(tmp_path_factory.mktemp("nats")) as url:
        yield url


def _events(first: int, count: int) -> list[Event]:
    return [Event(f"e{i}", {"id": f"e{i}", "n": i}) for i in range(first, first + count)]


async def _exercise(log: EventLog) -> None:
    assert await log.last_seq("port:a/b/c") == 0
    assert await log.append("port:a/b/c", _events(0, 5)) == 5
    assert await log.append("port:a/b/c", _events(3, 4)) == 2  # e3, e4 are duplicates
    assert await log.append("port:x/y/z", _events(0, 2)) == 2
    events = await log.read("port:a/b/c", 0, 100)
    assert [e.body["n"] for e in events] == [0, 1, 2, 3, 4, 5, 6]
    assert [e.id for e in events][:2] == ["e0", "e1"]
    after = await log.read("port:a/b/c", events[2].seq, 2)
    assert [e.body["n"] for e in after] == [3, 4]
    assert await log.last_seq("port:a/b/c") == events[-1].seq
    assert await log.seq_before("port:a/b/c", 0) == 0


@pytest.mark.parametrize("backend", ["embedded", "nats"])
def test_append_dedupes_by_id_and_reads_in_order(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("nats_url") if backend == "nats" else None

    async def scenario() -> None:
        log = open_event_log(url, tmp_path)
        try:
            await _exercise(log)
        finally:
            await log.close()

    asyncio.run(scenario())


def test_embedded_log_and_offsets_survive_reopening(tmp_path: Path) -> None:
    async def write() -> None:
        log = open_event_log(None, tmp_path)
        await log.append("port:a/b/c", _events(0, 3))
        await log.close()

    async def read() -> int:
        log = open_event_log(None, tmp_path)
        try:
            return len(await log.read("port:a/b/c", 0, 10))
        finally:
            await log.close()

    asyncio.run(write())
    offsets = OffsetStore(tmp_path / "offsets.db")
    offsets.commit("me", "port:a/b/c", 2)
    offsets.commit("me", "port:a/b/c", 1)  # never moves backwards by accident
    offsets.close()
    assert asyncio.run(read()) == 3
    reopened = OffsetStore(tmp_path / "offsets.db")
    assert reopened.offset("me", "port:a/b/c") == 2
    reopened.close()


def test_unknown_log_url_is_a_clear_error(tmp_path: Path) -> None:
    from hexmesh.errors import WorkspaceError

    with pytest.raises(WorkspaceError, match="nats://host:port"):
        open_event_log("kafka://somewhere", tmp_path)


def test_two_meshes_on_one_nats_server_never_mix_their_events(nats_url: str, tmp_path: Path) -> None:
    async def scenario() -> tuple[list[int], list[int]]:
        sales = open_event_log(nats_url, tmp_path, namespace="hexmesh-sales")
        finance = open_event_log(nats_url, tmp_path, namespace="hexmesh-finance")
        try:
            await sales.append("port:a/b/c", _events(0, 3))
            await finance.append("port:a/b/c", _events(100, 2))  # the same port name, the same ids' shape
            return (
                [e.body["n"] for e in await sales.read("port:a/b/c", 0, 100)],
                [e.body["n"] for e in await finance.read("port:a/b/c", 0, 100)],
            )
        finally:
            await sales.close()
            await finance.close()

    assert asyncio.run(scenario()) == ([0, 1, 2], [100, 101])


@pytest.mark.parametrize("namespace", ["has.dot", "with space", "star*", ""])
def test_a_namespace_nats_cannot_take_is_refused_with_what_to_use(namespace: str, tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match=r"events_namespace .* cannot name a NATS stream: use 1-64 letters"):
        open_event_log("nats://127.0.0.1:1", tmp_path, namespace=namespace)


def test_a_nats_reader_that_comes_back_after_the_server_dropped_its_idle_consumer_reads_on(
    nats_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server drops a read's consumer once idle this long (30 s in use; 1 s here, to be quick).
    monkeypatch.setattr(nats_log, "_INACTIVE_S", 1.0)

    async def scenario() -> None:
        log = open_event_log(nats_url, tmp_path, namespace="hexmesh-idle")
        try:
            await log.append("port:a/b/c", _events(0, 3))
            first = await log.read("port:a/b/c", 0, 100)
            await asyncio.sleep(3)  # a consumer reconnecting later with the last id it was sent
            await log.append("port:a/b/c", _events(3, 2))
            later = await log.read("port:a/b/c", first[-1].seq, 100)
            assert [e.body["n"] for e in later] == [3, 4]
        finally:
            await log.close()

    asyncio.run(scenario())
