"""The events port end to end: CloudEvents over SSE and WebSocket, resume, offsets, restarts."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect as ws_connect

from tests.server.nodes import RunningNode, add_orders, build_workspace, run_cli, serve
from tests.stacks import Stack, nats_server

EVENTS = "/products/sales/shop/ports/orders/events"


def sse(
    http: httpx.Client, path: str = EVENTS, headers: dict[str, str] | None = None, **params: Any
) -> list[tuple[int, dict[str, object]]]:
    """Read a (finite) SSE response into (id, CloudEvent) pairs."""
    events, seq, data = [], 0, []
    with http.stream("GET", path, params={"follow": False, **params}, headers=headers or {}) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("id: "):
                seq = int(line[4:])
            elif line.startswith("data: "):
                data.append(line[6:])
            elif not line and data:
                events.append((seq, json.loads("".join(data))))
                data = []
    return events


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory, stack: Stack) -> tuple[Path, Path]:
    """On each stack: the embedded event log, and NATS (with PostgreSQL and SeaweedFS S3)."""
    return build_workspace(tmp_path_factory.mktemp("events"), big=False, stack=stack)


@pytest.fixture(scope="module")
def events_node(mesh: tuple[Path, Path]) -> Iterator[RunningNode]:
    with serve(mesh[0]) as running:
        yield running


def _wait_for(http: httpx.Client, count: int, **params: Any) -> list[tuple[int, dict[str, object]]]:
    found: list[tuple[int, dict[str, object]]] = []
    for _ in range(300):  # the emitter runs in the background; follow until it caught up
        found = sse(http, **params)
        if len(found) >= count:
            return found
        with http.stream("GET", EVENTS, params={"start": "end", "limit": 1}) as response:
            for _line in response.iter_lines():  # blocks until an event arrives or idles
                break
    return found


def _data(event: dict[str, object]) -> dict[str, object]:
    data = event["data"]
    assert isinstance(data, dict)
    return data


def test_every_row_is_a_cloudevent(events_node: RunningNode) -> None:
    with events_node.client() as http:
        events = _wait_for(http, 3, start="beginning")
    assert len(events) == 3
    body = events[0][1]
    assert body["specversion"] == "1.0"
    assert body["source"] == "dp://sales/shop/orders"
    assert body["type"] == "dev.hexmesh.row.published"
    assert body["time"] == "2026-01-01T09:30:00.000000Z"  # event time
    assert str(body["processingtime"]).startswith("2026-") or body["processingtime"]
    assert body["data"] == {
        "order_id": 1,
        "customer_id": 101,
        "ordered_at": "2026-01-01T09:30:00.000000Z",
        "status": "placed",
        "amount": 19.9,
    }
    assert len({b["id"] for _, b in events}) == 3


def test_resume_with_last_event_id_and_offsets(events_node: RunningNode) -> None:
    with events_node.client() as http:
        events = _wait_for(http, 3, start="beginning")
        first_seq = events[0][0]
        resumed = sse(http, headers={"Last-Event-ID": str(first_seq)})
        from_offset = sse(http, start=str(events[1][0]))
        from_end = sse(http, start="end")
        from_past = sse(http, start="2020-01-01T00:00:00+00:00")
    assert [b["id"] for _, b in resumed] == [b["id"] for _, b in events[1:]]
    assert [b["id"] for _, b in from_offset] == [events[2][1]["id"]]
    assert from_end == []
    assert len(from_past) == 3


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"start": "tomorrow"}, "not understood"),
        ({"start": "2999-01-01T00:00:00+00:00"}, "future"),
    ],
)
def test_bad_starts_are_400_problems(events_node: RunningNode, params: dict[str, str], words: str) -> None:
    with events_node.client() as http:
        response = http.get(EVENTS, params=params)
    assert response.status_code == 400 and words in response.json()["detail"]


def test_event_time_windows_select_rows_on_sse_and_websocket(events_node: RunningNode) -> None:
    with events_node.client() as http:
        _wait_for(http, 3, start="beginning")
        rows = sse(http, start="beginning", since="2026-01-01T10:00:00Z", until="2026-01-01T11:45:00Z")
        first_later = sse(http, start="beginning", since="2026-01-01T10:00:00Z", limit=1)  # limit counts rows sent
        refused = http.get(EVENTS, params={"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"})
    url = events_node.url.replace("http", "ws") + EVENTS + "/ws?start=beginning&since=2026-01-01T10:00:00Z&limit=2"
    with ws_connect(url) as socket:
        messages = [json.loads(socket.recv(timeout=30)) for _ in range(2)]
    assert [_data(b)["order_id"] for _, b in rows] == [2]  # 10:05 is in [10:00, 11:45)
    assert [_data(b)["order_id"] for _, b in first_later] == [2]
    assert [m["event"]["data"]["order_id"] for m in messages] == [2, 3]
    assert refused.status_code == 400 and "must be before until" in refused.json()["detail"]


def test_websocket_delivers_the_same_events(events_node: RunningNode) -> None:
    url = events_node.url.replace("http", "ws") + EVENTS + "/ws?start=beginning&limit=3"
    with ws_connect(url) as socket:
        messages = [json.loads(socket.recv(timeout=30)) for _ in range(3)]
    assert [m["event"]["data"]["order_id"] for m in messages] == [1, 2, 3]
    assert messages[0]["seq"] < messages[2]["seq"]


def test_websocket_to_an_unknown_port_says_why(events_node: RunningNode) -> None:
    url = events_node.url.replace("http", "ws") + "/products/sales/shop/ports/ordrs/events/ws"
    with ws_connect(url) as socket:
        message = json.loads(socket.recv(timeout=30))
    assert message["status"] == 404 and "orders" in message["error"]


def test_new_snapshot_reaches_a_follower_and_offsets_survive_a_restart(tmp_path: Path) -> None:
    home, shop = build_workspace(tmp_path, big=False)
    with serve(home) as node, node.client() as http:
        first = _wait_for(http, 3, start="beginning", consumer="billing")
        offset = http.get(f"{EVENTS}/consumers/billing").json()["offset"]
        assert offset == first[-1][0]
        add_orders(shop, "2026-01-02", 4, 100)
        run_cli("run", "sales/shop", "--home", str(home))  # another process publishes
        # A follower started before sees the new rows without reconnecting.
        with http.stream("GET", EVENTS, params={"consumer": "billing", "limit": 4}) as response:
            fresh = [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]
    assert [e["data"]["order_id"] for e in fresh] == [100, 101, 102, 103]
    with serve(home) as node, node.client() as http:
        stored = http.get(f"{EVENTS}/consumers/billing").json()["offset"]
        resumed = sse(http, consumer="billing")
        rewound = http.put(f"{EVENTS}/consumers/billing", params={"offset": 0}).json()
        again = sse(http, consumer="billing")
    assert stored > offset and resumed == []
    assert rewound["offset"] == 0 and len(again) == 7


def test_a_start_time_is_when_rows_were_published_not_when_the_node_appended_them(tmp_path: Path) -> None:
    home, shop = build_workspace(tmp_path, big=False)  # the first run publishes before any node runs
    between = datetime.now(UTC)
    time.sleep(0.01)
    add_orders(shop, "2026-01-02", 2, 100)
    run_cli("run", "sales/shop", "--home", str(home))
    with serve(home) as node, node.client() as http:  # appends both publications to its log now
        everything = _wait_for(http, 5, start="beginning")
        later = sse(http, start=between.isoformat())
    assert len(everything) == 5
    assert [_data(b)["order_id"] for _, b in later] == [100, 101]
    assert all(str(b["processingtime"]) >= between.strftime("%Y-%m-%dT%H:%M:%S") for _, b in later)


def test_a_node_on_nats_jetstream_serves_the_same_events(tmp_path: Path) -> None:
    home, _ = build_workspace(tmp_path, big=False)
    with nats_server(tmp_path) as url:
        with serve(home, "--events", url) as node, node.client() as http:
            events = _wait_for(http, 3, start="beginning")
        # A shared log's positions are in the state store, not the node's home: a restart finds them.
        assert not (home / "offsets.db").exists()
        with serve(home, "--events", url) as node, node.client() as http:
            again = _wait_for(http, 3, start="beginning")
            http.get("/")
            replayed = sse(http, start="beginning")
    assert [b["id"] for _, b in events] == [b["id"] for _, b in again] == [b["id"] for _, b in replayed]


def test_a_subscriber_leaving_leaks_no_stream(events_node: RunningNode) -> None:
    with events_node.client() as http:
        with http.stream("GET", EVENTS, params={"start": "beginning"}) as response:
            next(response.iter_lines())
        # The server notices the client left when its next write fails or its disconnect poll runs:
        # give it up to 30 s of real time, not a number of requests (which a loaded machine races).
        deadline = time.monotonic() + 30
        while True:
            metrics = http.get("/metrics").text
            if "hexmesh_open_streams 0.0" in metrics or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert "hexmesh_open_streams 0.0" in metrics
