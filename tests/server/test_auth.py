"""``hexmesh serve --auth``: the HTTP ports enforce tokens and the products' policies."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from websockets.sync.client import connect as ws_connect

from tests.cli.test_serve import client, token, with_policies

PRIVACY = """
policies:
  privacy:
    - {field: customer_id, redact: true, exempt: {user: me@example.com}}
"""
PORT = "/products/sales/shop/ports/orders"


@pytest.fixture
def node(tmp_path: Path) -> Iterator[tuple[httpx.Client, Path]]:
    with client(tmp_path, "--auth", spec=with_policies(PRIVACY)) as http:
        yield http, tmp_path / "ws"


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def parquet(response: httpx.Response) -> pa.Table:
    assert response.status_code == 200, response.text
    return pq.read_table(pa.BufferReader(response.content))


def events(client: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    for _ in range(100):  # the emitter appends the published rows shortly after start
        response = client.get(f"{PORT}/events", params={"follow": "false"}, headers=headers)
        if response.status_code != 200 or "data: {" in response.text:
            return response
        time.sleep(0.1)
    return response


def test_the_owner_reads_everything(node: tuple[httpx.Client, Path]) -> None:
    client, home = node
    owner = bearer(token(home, "me@example.com"))
    table = parquet(client.get(f"{PORT}/data", headers=owner))
    assert table.num_rows == 3 and table.column("customer_id").null_count == 0
    pinned = client.get(f"{PORT}/data", headers=owner).headers["Content-Location"]
    assert parquet(client.get(pinned, headers=owner)).equals(table)
    stream = events(client, owner)
    assert stream.status_code == 200 and '"customer_id":null' not in stream.text
    document = client.get("/products/sales/shop", headers=owner).json()
    [dataset] = document["dcat:servesDataset"]
    assert "customer_id" in [f["hexmesh:name"] for f in dataset["hexmesh:schema"]]


def test_a_stranger_is_refused_and_told_how_to_ask(node: tuple[httpx.Client, Path]) -> None:
    client, home = node
    owner = bearer(token(home, "me@example.com"))
    stranger = bearer(token(home, "someone@example.com"))
    pinned = client.get(f"{PORT}/data", headers=owner).headers["Content-Location"]
    for response, status in (
        (client.get(f"{PORT}/data", headers=stranger), 403),
        (client.get(pinned, headers=stranger), 403),
        (client.get(pinned), 401),  # anonymous: the cached Parquet file is not served raw; sign in first
        (events(client, stranger), 403),
    ):
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "hexmesh access request dp://sales/shop/orders" in response.json()["detail"]
        if status == 401:
            assert response.headers["WWW-Authenticate"] == "Bearer"
            assert "Sign in: send an API token" in response.json()["detail"]
    [stub] = client.get("/products/sales/shop", headers=stranger).json()["dcat:servesDataset"]
    assert stub["dct:title"] == "orders" and stub["hexmesh:access"] == "request" and "hexmesh:schema" not in stub


def test_a_bad_token_is_a_401_with_a_bearer_challenge(node: tuple[httpx.Client, Path]) -> None:
    client, _ = node
    for path in (f"{PORT}/data", "/products/sales/shop", f"{PORT}/events"):
        response = client.get(path, headers=bearer("hxm_forged_token"))
        assert response.status_code == 401, response.text
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.headers["content-type"].startswith("application/problem+json")


def test_an_approved_analyst_reads_with_the_redacted_column_masked(node: tuple[httpx.Client, Path]) -> None:
    client, home = node
    owner = bearer(token(home, "me@example.com"))
    analyst = bearer(token(home, "ann@example.com"))
    ask = {"purpose": "reporting", "note": "monthly revenue"}
    assert client.post(f"{PORT}/access-requests", json=ask).status_code == 401  # needs a token
    asked = client.post(f"{PORT}/access-requests", json=ask, headers=analyst)
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["id"]
    decide = f"/access-requests/{request_id}/decision"
    assert client.post(decide, json={"verdict": "approve"}, headers=analyst).status_code == 403  # not an owner
    approved = client.post(decide, json={"verdict": "approve", "duration": 30}, headers=owner)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"

    params = {"purpose": "reporting"}
    table = parquet(client.get(f"{PORT}/data", params=params, headers=analyst))
    assert table.num_rows == 3
    assert table.column("customer_id").null_count == 3  # redacted
    assert table.column("order_id").to_pylist() == [1, 2, 3]
    synthetic = parquet(client.get(f"{PORT}/data", params={**params, "variant": "synthetic"}, headers=analyst))
    assert synthetic.num_rows == 3 and synthetic.column("customer_id").null_count == 3
    stream = events(client, analyst)
    assert stream.status_code == 403  # the grant is bound to its purpose
    stream = client.get(f"{PORT}/events", params={"follow": "false", **params}, headers=analyst)
    assert stream.status_code == 200 and '"customer_id":null' in stream.text


def test_the_websocket_refuses_a_stranger_and_masks_for_a_reader(node: tuple[httpx.Client, Path]) -> None:
    client, home = node
    events(client, bearer(token(home, "me@example.com")))  # the rows are on the log
    url = str(client.base_url).replace("http", "ws", 1) + PORT + "/events/ws?start=beginning&limit=3"
    with ws_connect(url, additional_headers=bearer(token(home, "someone@example.com"))) as socket:
        refused = json.loads(socket.recv(timeout=30))
    assert refused["status"] == 403 and "access request" in refused["error"]
    with ws_connect(url, additional_headers=bearer("hxm_forged_token")) as socket:
        assert json.loads(socket.recv(timeout=30))["status"] == 401
    with ws_connect(url, additional_headers=bearer(token(home, "me@example.com"))) as socket:
        messages = [json.loads(socket.recv(timeout=30)) for _ in range(3)]
    assert [m["event"]["data"]["order_id"] for m in messages] == [1, 2, 3]
    assert all(m["event"]["data"]["customer_id"] is not None for m in messages)
