"""Federation against fake peers: stale peers kept, bad documents rejected, recovery, cache."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from hexmesh.infra.settings import Settings
from hexmesh.mesh.federation import Federation, PeerError, peer_url, peer_urls
from tests.mesh.peers import entry_document, fake_peer
from tests.server.nodes import free_port

LOCAL = "http://127.0.0.1:1"


def federation(tmp_path: Path, *peers: str) -> Federation:
    return Federation(
        LOCAL,
        local=lambda: [entry_document("home", "own")],
        peers=peers,
        cache=tmp_path / "mesh" / "registry.json",
        timeout=2,
    )


def test_a_peer_is_pulled_and_searchable(tmp_path: Path) -> None:
    with fake_peer({"sales/orders": entry_document("sales", "orders")}) as peer:
        fed = federation(tmp_path, peer.url)
        fed.refresh()
    assert [e.key for e in fed.registry] == ["home/own", "sales/orders"]
    assert fed.registry.get("sales/orders").node_url == peer.url  # type: ignore[union-attr]
    assert fed.peers[peer.url].status == "ok"
    assert [h.entry.key for h in fed.index.search("ordrs").hits] == ["sales/orders"]


def test_an_unreachable_peer_is_stale_not_dropped_and_recovers(tmp_path: Path) -> None:
    port = free_port()
    with fake_peer({"sales/orders": entry_document("sales", "orders")}, port=port) as peer:
        fed = federation(tmp_path, peer.url)
        fed.refresh()
    fed.refresh()  # the peer is gone
    entry = fed.registry.get("sales/orders")
    assert entry is not None and entry.stale
    assert fed.peers[peer.url].status == "unreachable"
    assert "ConnectError" in (fed.peers[peer.url].last_error or "")
    assert not fed.registry.get("home/own").stale  # type: ignore[union-attr]
    with fake_peer({"sales/orders": entry_document("sales", "orders")}, port=port):
        fed.refresh()
    assert not fed.registry.get("sales/orders").stale  # type: ignore[union-attr]
    assert fed.peers[peer.url].status == "ok"


def test_a_malformed_document_is_rejected_with_its_reason(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    good = entry_document("sales", "orders")
    with fake_peer({"sales/orders": good}) as peer:
        fed = federation(tmp_path, peer.url)
        fed.refresh()
        bad = entry_document("sales", "orders", ports="not a list")
        peer.documents = {"sales/orders": bad, "sales/refunds": entry_document("sales", "refunds")}
        with caplog.at_level(logging.WARNING):
            fed.refresh()
    state = fed.peers[peer.url]
    assert len(state.rejected) == 1 and "$.ports" in state.rejected[0]
    assert peer.url in state.rejected[0]
    assert any("rejected" in r.message for r in caplog.records)
    # The last good entry of the rejected product is kept; the good new one is added.
    assert {e.key for e in fed.registry} == {"home/own", "sales/orders", "sales/refunds"}


def test_a_peer_that_is_not_a_node_is_unreachable_not_fatal(tmp_path: Path) -> None:
    with fake_peer({}) as peer:
        peer.catalog_text = "<html>not json</html>"
        fed = federation(tmp_path, peer.url)
        fed.refresh()
    assert fed.peers[peer.url].status == "unreachable"
    assert [e.key for e in fed.registry] == ["home/own"]


def test_products_a_peer_no_longer_serves_are_dropped(tmp_path: Path) -> None:
    with fake_peer({"sales/orders": entry_document("sales", "orders")}) as peer:
        fed = federation(tmp_path, peer.url)
        fed.refresh()
        peer.documents = {}
        fed.refresh()
    assert [e.key for e in fed.registry] == ["home/own"]


def test_the_index_survives_a_restart_and_peers_start_stale(tmp_path: Path) -> None:
    with fake_peer({"sales/orders": entry_document("sales", "orders")}) as peer:
        federation(tmp_path, peer.url).refresh()
    cache = json.loads((tmp_path / "mesh" / "registry.json").read_text())
    assert {e["key"] for e in cache["entries"]} == {"home/own", "sales/orders"}
    again = federation(tmp_path)  # no peer configured, nothing pulled yet
    assert again.registry.get("sales/orders").stale  # type: ignore[union-attr]
    assert peer.url in again.peers
    assert again.index.search("orders").total == 1


def test_a_corrupt_cache_starts_empty(tmp_path: Path) -> None:
    (tmp_path / "mesh").mkdir()
    (tmp_path / "mesh" / "registry.json").write_text("{not json")
    assert len(federation(tmp_path).registry) == 0


def test_announce(tmp_path: Path) -> None:
    with fake_peer({"sales/orders": entry_document("sales", "orders")}) as peer:
        fed = federation(tmp_path)
        state = fed.announce(peer.url + "/")
    assert state.announced and state.status == "ok" and "sales/orders" in fed.registry
    with pytest.raises(PeerError, match="this node itself"):
        fed.announce(LOCAL)


@pytest.mark.parametrize("bad", ["ftp://x", "node-b:8080", "http://"])
def test_peer_urls_are_checked(bad: str) -> None:
    with pytest.raises(PeerError, match="not an http"):
        peer_url(bad)


def test_configured_peers() -> None:
    assert peer_urls(Settings.load(Path("/nonexistent")).merged({"peers": " http://a:1/, http://b:2 ,"}).peers) == [
        "http://a:1",
        "http://b:2",
    ]
