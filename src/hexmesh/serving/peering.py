"""Who may announce a peer to this node: announcing makes the node fetch a URL (SSRF risk).

From this machine, to a node served without ``--auth``, anyone may (the local demo mesh and
tests). From anywhere else, or whenever ``--auth`` is on, only a principal with the operator or
governance role (an API token, or a clear-text governance token until it is migrated).
"""

from __future__ import annotations

import ipaddress

from hexmesh.product.control import UnauthorizedError
from hexmesh.serving.node import Node

__all__ = ["authorize_announcement", "is_loopback"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine (``localhost``, 127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def authorize_announcement(node: Node, client_host: str, token: str | None) -> None:
    """Raise UnauthorizedError (401) or ForbiddenError (403) unless the announcer may announce.

    ``token`` is the announcer's bearer token, if it sent one.
    """
    if is_loopback(client_host) and not node.options.auth:
        return
    where = client_host or "an unknown address"
    why = "this node serves with --auth" if node.options.auth else f"it comes from {where}"
    if token is None:
        raise UnauthorizedError(
            f"announcing a peer needs a governance token because {why}: send 'Authorization: Bearer <token>' "
            "(announcing nodes send HEXMESH_MESH_TOKEN), or list the peer in HEXMESH_PEERS"
        )
    node.authority.authorize(token, "announce-peer")
