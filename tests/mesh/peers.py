"""A fake peer node: an HTTP server whose catalog and documents a test controls."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.server.nodes import free_port


def entry_document(domain: str, name: str, **extra: Any) -> dict[str, Any]:
    """A valid discovery document in the index's own JSON form."""
    return {
        "domain": domain,
        "name": name,
        "version": "1.0.0",
        "owner": f"{name}-team@example.com",
        "description": f"The {name} product of the {domain} domain.",
        "tags": ["fake"],
        "ports": [
            {
                "name": "rows",
                "primaryKey": ["id"],
                "fields": [{"name": "id", "type": "string", "concept": "https://schema.org/identifier"}],
            }
        ],
        **extra,
    }


@dataclass
class FakePeer:
    """``documents`` maps product keys to what ``/products/<key>`` answers (JSON, or raw text)."""

    port: int
    documents: dict[str, Any] = field(default_factory=dict)
    catalog_text: str | None = None
    peers: list[str] = field(default_factory=list)
    """What ``/api/peers`` lists (the gossip a real node would send)."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _handler(peer: FakePeer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/api/peers":
                body = json.dumps([{"url": url} for url in peer.peers])
            elif self.path == "/":
                services = [{"@id": f"{peer.url}/products/{key}"} for key in peer.documents]
                body = peer.catalog_text or json.dumps({"dcat:service": services})
            elif self.path.removeprefix("/products/") in peer.documents:
                document = peer.documents[self.path.removeprefix("/products/")]
                body = document if isinstance(document, str) else json.dumps(document)
            else:
                self.send_error(404)
                return
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


@contextmanager
def fake_peer(documents: dict[str, Any], port: int | None = None) -> Iterator[FakePeer]:
    peer = FakePeer(port or free_port(), dict(documents))
    server = ThreadingHTTPServer(("127.0.0.1", peer.port), _handler(peer))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
