"""Announced and gossiped peers: which URLs a node refuses to fetch, and how often it fetches."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

import pytest

from hexmesh.infra.settings import Settings
from hexmesh.mesh.admission import (
    AnnounceLimitError,
    PeerError,
    PeerPolicy,
    PeerRefusedError,
    parse_networks,
    peer_url,
)
from hexmesh.mesh.federation import Federation
from tests.mesh.peers import entry_document, fake_peer

LOCAL = "http://127.0.0.1:1"


def federation(tmp_path: Path, policy: PeerPolicy) -> Federation:
    return Federation(
        LOCAL, local=lambda: [entry_document("home", "own")], cache=tmp_path / "r.json", timeout=5, policy=policy
    )


def test_credentials_in_a_peer_url_are_refused_without_echoing_them() -> None:
    with pytest.raises(PeerError, match="carries credentials") as caught:
        peer_url("http://admin:s3cret@10.0.0.5:8080")
    assert "s3cret" not in str(caught.value) and "10.0.0.5" in str(caught.value)


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("http://node-b:8080/admin", "path, query or fragment"),
        ("http://node-b:8080/?x=1", "path, query or fragment"),
        ("http://node-b:99999", "invalid port"),
        ("file:///etc/passwd", r"not an http\(s\) URL"),
        ("gopher://node-b:70", r"not an http\(s\) URL"),
    ],
)
def test_a_peer_url_is_only_a_base_url(bad: str, says: str) -> None:
    with pytest.raises(PeerError, match=says):
        peer_url(bad)


@pytest.mark.parametrize("metadata", ["http://169.254.169.254", "http://[fe80::1]:80", "http://0.0.0.0:8080"])
def test_link_local_and_unspecified_addresses_are_never_fetched(metadata: str) -> None:
    with pytest.raises(PeerError, match="link-local, multicast or unspecified"):
        PeerPolicy().admit(metadata)


def test_the_allow_list_names_the_networks_and_how_to_extend_it() -> None:
    policy = PeerPolicy(networks=parse_networks("10.0.0.0/8, 192.168.1.0/24"))
    assert policy.admit("http://10.1.2.3:8080/") == "http://10.1.2.3:8080"
    with pytest.raises(PeerError, match=r"resolves to 127\.0\.0\.1, outside .*10\.0\.0\.0/8.*HEXMESH_PEER_NETWORKS"):
        policy.admit("http://localhost:8080")  # names are resolved before they are checked


@pytest.mark.parametrize("host", ["no-such-node.invalid", "a" * 64 + ".example"])
def test_a_host_that_does_not_resolve_is_refused(host: str) -> None:
    with pytest.raises(PeerRefusedError, match="does not resolve"):
        PeerPolicy().admit(f"http://{host}:8080")


def test_a_bad_network_setting_is_explained(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HEXMESH_PEER_NETWORKS", "10.0.0.0/8,not-a-net")
    with pytest.raises(PeerError, match="'not-a-net' is not a network"):
        PeerPolicy.from_settings(Settings.load(tmp_path))
    monkeypatch.setenv("HEXMESH_PEER_NETWORKS", "10.0.0.0/8")
    monkeypatch.setenv("HEXMESH_ANNOUNCE_INTERVAL", "5")
    assert PeerPolicy.from_settings(Settings.load(tmp_path)) == PeerPolicy(
        (ipaddress.ip_network("10.0.0.0/8"),), 5.0, 256
    )


def test_announcing_twice_is_rate_limited_and_keeps_the_peer(tmp_path: Path) -> None:
    fed = federation(tmp_path, PeerPolicy(min_interval=3600))
    with fake_peer({"sales/orders": entry_document("sales", "orders")}) as peer:
        assert fed.announce(peer.url).status == "ok"
        with pytest.raises(AnnounceLimitError, match="announce again in") as caught:
            fed.announce(peer.url + "/")
    assert 3500 < caught.value.retry_after <= 3600
    assert "sales/orders" in fed.registry and fed.peers[peer.url].announced


def test_a_node_follows_a_bounded_number_of_announced_peers(tmp_path: Path) -> None:
    fed = federation(tmp_path, PeerPolicy(max_announced=1))
    with fake_peer({"sales/orders": entry_document("sales", "orders")}) as first, fake_peer({}) as second:
        fed.announce(first.url)
        with pytest.raises(AnnounceLimitError, match="already follows 1 announced peers"):
            fed.announce(second.url)
    assert list(fed.peers) == [first.url] and "sales/orders" in fed.registry


def test_gossiped_peers_pass_the_same_check(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    fed = federation(tmp_path, PeerPolicy(networks=parse_networks("127.0.0.0/8")))
    with fake_peer({"sales/orders": entry_document("sales", "orders")}) as peer:
        peer.peers = ["http://169.254.169.254", "http://10.9.9.9:8080", "http://127.0.0.1:2"]
        with caplog.at_level(logging.INFO, logger="hexmesh.mesh.federation"):
            fed.pull(peer.url, introduce=False)
    assert sorted(fed.peers) == sorted([peer.url, "http://127.0.0.1:2"])
    assert "169.254.169.254" in caplog.text and "outside the networks" in caplog.text
