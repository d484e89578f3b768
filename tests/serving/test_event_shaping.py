"""What goes over NATS, and what a subscriber gets at the edge.

NATS carries rows as stored: sealed fields stay sealed there. Each node masks per subscriber, so an
SSE subscriber, a WebSocket subscriber and a SQL session of the same principal see the same rows,
value for value. A subscriber who may not see every row gets opaque ids: neither the SSE ids nor the
events' ids say how many rows a filter hid, or where.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from websockets.sync.client import connect as ws_connect

from tests.leakhunt.mesh import CANARIES, LeakMesh, build_mesh, serve_mesh
from tests.stacks import nats_server

PEOPLE = "/products/leak/vault/ports/people/events"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LeakMesh, str]]:
    root = tmp_path_factory.mktemp("events")
    with nats_server(root) as url, serve_mesh(build_mesh(root), "--events", url) as mesh:
        yield mesh, url


def sse(http: httpx.Client, headers: dict[str, str] | None = None, **params: str) -> list[tuple[str, dict[str, Any]]]:
    answer = http.get(PEOPLE, params={"follow": "false", **params}, headers=headers or {})
    assert answer.status_code == 200, answer.text
    found = []
    for block in answer.text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "data" in fields:
            found.append((fields["id"], json.loads(fields["data"])))
    return found


def _row(values: dict[str, Any]) -> str:
    """A row as comparable text: times as instants (JSON spells them as text, SQL as timestamps)."""

    def instant(value: Any) -> Any:
        if isinstance(value, str) and re.match(r"^\d{4}-\d\d-\d\dT", value):
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return value.astimezone(dt.UTC).isoformat() if isinstance(value, dt.datetime) else value

    return json.dumps({k: instant(v) for k, v in values.items()}, sort_keys=True)


def test_sse_websocket_and_sql_show_the_same_masked_rows(served: tuple[LeakMesh, str]) -> None:
    mesh, _ = served
    with mesh.http("analyst") as http:
        streamed = {_row(body["data"]) for _, body in sse(http, start="beginning")}
    url = mesh.url.replace("http", "ws", 1) + PEOPLE + "/ws?start=beginning"
    socketed = set()
    with ws_connect(url, additional_headers=mesh.headers("analyst")) as socket:
        while True:
            try:
                socketed.add(_row(json.loads(socket.recv(timeout=3))["event"]["data"]))
            except TimeoutError:
                break
    with psycopg.connect(mesh.dsn("analyst")) as conn:
        cursor = conn.execute("select * from leak.vault__people")
        names = [c.name for c in cursor.description or []]
        queried = {_row(dict(zip(names, row, strict=True))) for row in cursor.fetchall()}
    assert streamed == socketed == queried
    assert len(queried) == 9  # the EU rows (8 and the forgotten subject's), of 13
    shown = " ".join(queried)
    assert "p_" in shown and not any(c in shown for m in ("pseudonym", "row-filter", "masked") for c in CANARIES[m])


def test_nats_carries_rows_as_stored_with_sealed_fields_sealed(served: tuple[LeakMesh, str]) -> None:
    """Anyone who reads NATS directly sees what the nodes need to serve the port, never an opened seal."""
    _, url = served
    import nats

    async def everything_on_nats() -> list[str]:
        connection = await nats.connect(url)
        js = connection.jetstream()
        texts = []
        for info in await js.streams_info():
            name = str(info.config.name)
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                texts.append(((await js.get_msg(name, seq)).data or b"").decode())
        await connection.close()
        return texts

    carried = " ".join(asyncio.run(everything_on_nats()))
    assert "cnrypseudo0001" in carried  # rows as stored: NATS must stay private to the nodes (docs/events.md)
    assert "hxm1:" in carried  # sealed at rest, sealed in transit
    assert not any(email in carried for email in CANARIES["sealed"] | CANARIES["forgotten"])


def test_ids_tell_a_filtered_subscriber_nothing_of_the_rows_it_may_not_see(served: tuple[LeakMesh, str]) -> None:
    mesh, _ = served
    with mesh.http("analyst") as http:
        events = sse(http, start="beginning")
        assert events and all(cursor.startswith("t_") for cursor, _ in events)
        assert all(re.fullmatch(r"e_[0-9a-f]{32}", body["id"]) for _, body in events)
        # Resuming with an id it was sent gives exactly the rest; a number is not an id it was sent.
        rest = sse(http, {"Last-Event-ID": events[2][0]})
        assert [body["id"] for _, body in rest] == [body["id"] for _, body in events[3:]]
        assert http.get(PEOPLE, params={"follow": "false"}, headers={"Last-Event-ID": "5"}).status_code == 400
        assert http.get(PEOPLE, params={"follow": "false", "start": "5"}).status_code == 400
        # Stored offsets are opaque too.
        put = http.put(f"{PEOPLE}/consumers/board", params={"offset": events[1][0]})
        assert put.status_code == 200, put.text
        assert http.get(f"{PEOPLE}/consumers/board").json()["offset"] == events[1][0]
    with mesh.http("owner") as http:
        owned = sse(http, start="beginning")
    assert all(cursor.isdigit() for cursor, _ in owned)  # the owners see the log as it is
    assert len(owned) == 13 and {b["id"] for _, b in owned}.isdisjoint({b["id"] for _, b in events})
