"""The mesh API over a real node serving the example mesh (and a product without docs)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.mesh.peers import entry_document, fake_peer
from tests.server.ui.nodes import ThreadNode


def get(node: ThreadNode, path: str, **params: str) -> httpx.Response:
    return httpx.get(node.url + path, params=params, timeout=30)


def test_search_ranks_facets_and_corrects(node: ThreadNode) -> None:
    body = get(node, "/api/search", q="lisener domain:podcasts").json()
    assert body["hits"][0]["key"] == "podcasts/listener-demographics"
    assert body["corrections"] == {"lisener": ["listener"]}
    assert {h["entry"]["domain"] for h in body["hits"]} == {"podcasts"}
    # A facet's counts ignore its own filter, so the UI can offer the other domains.
    assert body["facets"]["domain"]["users"] >= 1
    assert set(body["facets"]) >= {"domain", "owner", "tag", "status", "slo", "classification"}


def test_search_syntax_error_is_a_helpful_problem(node: ThreadNode) -> None:
    answer = get(node, "/api/search", q="doman:podcasts")
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    detail = answer.json()["detail"]
    assert "did you mean domain:?" in detail and detail.endswith("doman:podcasts\n  ^")


def test_products_about_a_concept_and_join_paths(node: ThreadNode) -> None:
    about = get(node, "/api/graph/concepts", concept="schema:email").json()
    assert [u["product"] for u in about["products"]] == ["users/user-profiles"]
    concepts = get(node, "/api/graph/concepts").json()["concepts"]
    assert any(c["concept"] == "https://schema.org/email" for c in concepts)
    join = get(node, "/api/graph/join", **{"from": "podcasts/play-events", "to": "users/user-profiles"}).json()
    first = join["paths"][0]["steps"][0]
    assert first == {
        "left": "dp://podcasts/play-events/plays#listener_id",
        "right": "dp://users/user-profiles/profiles#user_id",
        "reason": "link",
    }
    missing = get(node, "/api/graph/join", **{"from": "podcasts/nope", "to": "users/user-profiles"})
    assert missing.status_code == 404 and "podcasts/nope" in missing.json()["detail"]


def test_rdf_exports(node: ThreadNode) -> None:
    turtle = get(node, "/api/graph.ttl")
    assert turtle.headers["content-type"].startswith("text/turtle")
    assert "<dp://podcasts/play-events> a hm:DataProduct" in turtle.text
    jsonld = get(node, "/api/graph.jsonld")
    assert jsonld.headers["content-type"] == "application/ld+json"
    assert "@graph" in jsonld.json() or "@context" in jsonld.json()


def test_product_and_column_lineage(node: ThreadNode) -> None:
    lineage = get(node, "/api/lineage/podcasts/listener-demographics").json()
    assert set(lineage["upstream"]) == {"podcasts/play-events", "users/user-profiles"}
    assert ["podcasts/play-events", "podcasts/listener-demographics"] in lineage["edges"]
    columns = get(node, "/api/lineage/podcasts/listener-demographics/columns").json()
    assert columns["available"]
    daily = {c["output"]: c for c in columns["ports"]["daily"]}
    assert daily["podcast_id"] == {
        "output": "podcast_id",
        "kind": "IDENTITY",
        "sources": [{"input": "plays", "column": "podcast_id"}],
    }
    unknown = get(node, "/api/lineage/podcasts/nope")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"


def test_registry_lists_own_products_fresh(node: ThreadNode) -> None:
    body = get(node, "/api/registry").json()
    keys = {p["key"]: p for p in body["products"]}
    assert "sales/shop" in keys and "podcasts/play-events" in keys
    assert not any(p["stale"] for p in keys.values())


def test_bad_peers_are_shown_gracefully(node: ThreadNode) -> None:
    documents = {"acme/widgets": entry_document("acme", "widgets"), "acme/broken": {"domain": "acme", "name": "broken"}}
    with fake_peer(documents) as peer:
        answer = httpx.post(node.url + "/api/peers", json={"url": peer.url}, timeout=30)
        assert answer.status_code == 202
        assert answer.json()["products"] == ["acme/widgets"]
        assert "acme/broken" in answer.json()["rejected"][0]
    # The peer is gone now: its product stays in the index, stale, and its page says why.
    httpx.post(node.url + "/api/registry/refresh", timeout=30)
    registry = get(node, "/api/registry").json()
    assert {p["key"]: p["stale"] for p in registry["products"]}["acme/widgets"] is True
    page = get(node, "/ui/products/acme/widgets")
    assert page.status_code == 200 and "not answering" in page.text
    nodes = get(node, "/ui/nodes").text
    assert "Not answering" in nodes and peer.url in nodes


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        ("/ui?q=doman:podcasts", 400, "did you mean domain:?"),
        ("/ui?q=%22open", 400, "this quote is never closed"),
        ("/ui/products/sales/shop", 200, "has no documentation yet"),
        ("/ui/products/podcasts/nope", 404, "no product"),
        ("/ui/graph?from=podcasts/nope&to=sales/shop", 400, "podcasts/nope"),
        ("/ui/static/../app.py", 404, ""),
    ],
)
def test_pages_handle_bad_input(node: ThreadNode, path: str, status: int, text: str) -> None:
    answer = httpx.get(node.url + path, timeout=30)
    assert answer.status_code == status
    assert text in answer.text


def semantic(node: ThreadNode, q: str) -> dict[str, Any]:
    """A semantic search, once the node has loaded the model (keyword results until then)."""
    deadline = time.monotonic() + 300  # loading the model takes seconds, more on a loaded machine
    while True:
        body: dict[str, Any] = get(node, "/api/search", q=q, mode="semantic").json()
        if body["mode"] == "hybrid":
            return body
        assert body["mode"] == "keyword" and "warming up" in body["notice"]
        assert time.monotonic() < deadline, "the node never finished loading the embedding model"
        time.sleep(1)


@pytest.mark.slow
def test_semantic_search_finds_by_meaning(node: ThreadNode) -> None:
    question = "how old are the people listening"
    body = semantic(node, question)
    assert body["hits"][0]["key"] == "podcasts/listener-demographics"
    only = semantic(node, question + " domain:users")
    assert {h["entry"]["domain"] for h in only["hits"]} == {"users"}
    bad = get(node, "/api/search", q="x", mode="vibes")
    assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"
    assert "mode" in bad.json()["detail"] and "'semantic'" in bad.json()["detail"]


@pytest.mark.slow
def test_the_discover_page_searches_by_meaning(node: ThreadNode) -> None:
    semantic(node, "warm up")  # the page shows keyword results, and says so, until the model is loaded
    page = get(node, "/ui", q="how old are the people listening", mode="semantic")
    assert page.status_code == 200 and "warming up" not in page.text
    assert 'name="mode" value="semantic" checked' in page.text
    first = page.text.index('class="card-title"')
    assert page.text[first:].startswith('class="card-title" href="/ui/products/podcasts/listener-demographics"')
    assert "&amp;mode=semantic" in page.text  # facet links keep the mode
    plain = get(node, "/ui", q="how old are the people listening")
    assert 'name="mode" value="semantic" checked' not in plain.text


def test_an_unknown_ui_path_is_a_page_with_the_way_back(node: ThreadNode) -> None:
    answer = get(node, "/ui/no/such/<page>")
    assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")
    assert "Page not found" in answer.text and 'href="/ui"' in answer.text
    assert "/ui/no/such/&lt;page&gt;" in answer.text and "<page>" not in answer.text
    assert get(node, "/ui/products/podcasts/play-events").status_code == 200  # real pages still win
    api = get(node, "/api/no-such-route")
    assert api.headers["content-type"] == "application/problem+json"  # the API keeps problem documents
