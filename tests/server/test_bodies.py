"""Every route limits its request body: declared or streamed, too much is a 413 before it is buffered."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.server.nodes import TOKEN, RunningNode

MIB = 1024 * 1024
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def chunks(total: int) -> Iterator[bytes]:
    """A body without Content-Length (chunked transfer encoding), 64 KiB at a time."""
    for _ in range(total // (64 * 1024)):
        yield b"x" * (64 * 1024)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/control/rules"),
        ("POST", "/products/sales/shop/ports/orders/access-requests"),
        ("PUT", "/products/sales/shop/control/policies"),
    ],
)
def test_a_declared_body_over_the_limit_is_refused_unread(node: RunningNode, method: str, path: str) -> None:
    with node.client() as http:
        response = http.request(
            method, path, headers=BEARER | {"Content-Type": "application/json"}, content=b" " * (2 * MIB)
        )
    assert response.status_code == 413, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "larger than the 1,048,576 bytes this route accepts" in problem["detail"]


def test_a_streamed_body_is_counted_as_it_arrives(node: RunningNode) -> None:
    with node.client() as http:
        response = http.put(
            "/control/rules", headers=BEARER | {"Content-Type": "application/yaml"}, content=chunks(3 * MIB)
        )
    assert response.status_code == 413, response.text
    assert "larger than the 1,048,576 bytes this route accepts" in response.json()["detail"]
    with node.client() as http:  # the node goes on serving
        assert http.get("/").status_code == 200


def test_an_absurd_content_length_is_413_not_a_crash(node: RunningNode) -> None:
    address = urlsplit(node.url)
    request = (
        "POST /products/sales/shop/ports/orders/access-requests HTTP/1.1\r\n"
        f"Host: {address.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {10**30}\r\nConnection: close\r\n\r\n{{}}"
    )
    with socket.create_connection((address.hostname, address.port), timeout=30) as raw:
        raw.sendall(request.encode())
        answer = raw.recv(65536).decode("latin-1")
    status = int(answer.split(" ", 2)[1])
    assert status in (400, 413), answer  # the HTTP server or the node refuses it; never a 5xx
    if status == 413:
        assert "larger than the 1,048,576 bytes this route accepts" in answer


def test_ingest_keeps_its_own_larger_limit(node: RunningNode) -> None:
    events = b"[" + b",".join(b'{"n": %d}' % i for i in range(200_000)) + b"]"
    assert MIB < len(events) < 32 * MIB
    with node.client() as http:
        response = http.post(
            "/products/sales/shop/ingest/raw_orders", headers={"Content-Type": "application/json"}, content=events
        )
    assert response.status_code != 413, response.text


def test_the_openapi_documents_413_on_every_route_with_a_body(node: RunningNode) -> None:
    with node.client() as http:
        document = http.get("/openapi.json").json()
    with_body = [
        (path, method)
        for path, operations in document["paths"].items()
        for method, op in operations.items()
        if "requestBody" in op
    ]
    assert len(with_body) >= 8
    for path, method in with_body:
        assert "413" in document["paths"][path][method]["responses"], (method, path)
