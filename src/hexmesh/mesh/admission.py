"""Which peer URLs a node agrees to fetch: a guard against server-side request forgery.

A node pulls every peer it knows, so an announced or gossiped URL makes it send requests.
Without a guard, anyone who can announce could make the node fetch internal services
(``http://169.254.169.254/`` metadata, an admin port on localhost). Operator-configured peers
(``HEXMESH_PEERS``) are trusted; announced and gossiped ones must pass :class:`PeerPolicy`.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from hexmesh.errors import HexmeshError
from hexmesh.infra.settings import Settings

__all__ = ["AnnounceLimitError", "Network", "PeerError", "PeerPolicy", "PeerRefusedError", "peer_url"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Never fetched, whatever the allow-list says: cloud metadata endpoints live on link-local addresses.
_NEVER = tuple(
    ipaddress.ip_network(n) for n in ("169.254.0.0/16", "fe80::/10", "0.0.0.0/8", "::/128", "224.0.0.0/4", "ff00::/8")
)


class PeerError(HexmeshError):
    """A peer URL that cannot be a hexmesh node, or that this node refuses to fetch."""

    http_status = 400
    exit_code = 2


class PeerRefusedError(PeerError):
    """A well-formed peer URL whose host this node will not fetch (policy, not syntax)."""

    http_status = 403


class AnnounceLimitError(HexmeshError):
    """Announcements come too often, or too many announced peers are followed already."""

    http_status = 429
    exit_code = 2

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def peer_url(text: str) -> str:
    """``text`` as a peer base URL (scheme, host and port; no trailing slash), or PeerError."""
    url = text.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PeerError(
            f"peer {text!r} is not an http(s) URL; give the node's base URL, for example http://127.0.0.1:8081"
        )
    if parts.username is not None or parts.password is not None:
        raise PeerError(
            f"peer {_redacted(text)!r} carries credentials in its URL; give the bare base URL "
            "(nodes authenticate with HEXMESH_MESH_TOKEN, never with URL credentials)"
        )
    if parts.path or parts.query or parts.fragment:
        raise PeerError(f"peer {text!r} has a path, query or fragment; give only the base URL, e.g. http://host:8080")
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError:
        raise PeerError(f"peer {text!r} has an invalid port; ports are 1-65535") from None
    return url


def _redacted(text: str) -> str:
    parts = urlsplit(text.strip())
    host = parts.hostname or ""
    return f"{parts.scheme}://***@{host}{':' + str(parts.port) if parts.port else ''}"


def parse_networks(text: str) -> tuple[Network, ...]:
    """Comma-separated CIDR networks (``10.0.0.0/8, 127.0.0.1``), or PeerError naming the bad one."""
    found = []
    for item in filter(None, (p.strip() for p in text.split(","))):
        try:
            found.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise PeerError(
                f"HEXMESH_PEER_NETWORKS: {item!r} is not a network; write CIDR ranges such as 10.0.0.0/8,127.0.0.1/32"
            ) from None
    return tuple(found)


@dataclass(frozen=True)
class PeerPolicy:
    """What an announced or gossiped peer URL must satisfy before this node fetches it.

    ``networks``: the addresses a peer's host may resolve to (None: any address except
    link-local, multicast and unspecified ones, which are never allowed). ``min_interval``:
    seconds before the same URL may be announced again (each announcement is a fetch).
    ``max_announced``: how many announced peers one node follows.
    """

    networks: tuple[Network, ...] | None = None
    min_interval: float = 30.0
    max_announced: int = 256

    @classmethod
    def from_settings(cls, settings: Settings) -> PeerPolicy:
        """From the ``peer_networks``, ``announce_interval`` and ``max_announced`` settings."""
        networks = ",".join(settings.peer_networks)
        return cls(parse_networks(networks) if networks else None, settings.announce_interval, settings.max_announced)

    def admit(self, text: str) -> str:
        """The checked base URL of ``text``; PeerError says why it is refused."""
        url = peer_url(text)
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        for address in _resolve(host, port, url):
            self._allow(address, url)
        return url

    def _allow(self, address: Address, url: str) -> None:
        if any(address in net for net in _NEVER if net.version == address.version):
            raise PeerRefusedError(
                f"peer {url!r} resolves to {address}, a link-local, multicast or unspecified address; "
                "nodes never fetch those (cloud metadata services live there)"
            )
        if self.networks is not None and not any(
            address in net for net in self.networks if net.version == address.version
        ):
            allowed = ", ".join(str(n) for n in self.networks) or "none"
            raise PeerRefusedError(
                f"peer {url!r} resolves to {address}, outside the networks peers may be in ({allowed}); "
                "add its network to HEXMESH_PEER_NETWORKS if it is a node of this mesh"
            )


def _resolve(host: str, port: int, url: str) -> Iterable[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:  # UnicodeError: a label longer than 63 characters
        raise PeerRefusedError(f"peer {url!r}: host {host[:80]!r} does not resolve ({exc}); check the name") from None
    # getaddrinfo may give scoped IPv6 text ("fe80::1%eth0"); the scope is not part of the address.
    return {ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos}
