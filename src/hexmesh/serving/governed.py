"""The policy sidecar on the HTTP ports of a node that enforces policies (reads, streams, access requests).

Routes call these functions with the caller from :data:`hexmesh.server.deps.Caller`; each one
plans and audits through the sidecar (``governed_table``, ``governed_batches``,
``discoverable_schema``, ``request_access``, ``decide_access``), so the routes hold no policy code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Literal

import pyarrow as pa

from hexmesh.errors import HexmeshError
from hexmesh.governance import UNRESTRICTED, AuthenticationError, Principal
from hexmesh.governance.grants import AccessRequest
from hexmesh.infra.events import StoredEvent
from hexmesh.product import OutputPortReader, ReadRequest
from hexmesh.product import files as port_files
from hexmesh.product.policy import (
    PolicySidecar,
    PortRead,
    Window,
    decide_access,
    governed_batches,
    request_access,
    shaped_batches,
)
from hexmesh.product.policy.requests import DAY_US
from hexmesh.product.policy.stream import Cursors, cursors_for, governed_events
from hexmesh.serving.node import Node

__all__ = [
    "AuthOffError",
    "ask",
    "check_stream",
    "consumer_name",
    "decide",
    "download",
    "filter_events",
    "one_view_for_all",
    "pinned_etag",
    "shaped",
    "sidecar_of",
    "stream_cursors",
]

Variant = Literal["rows", "synthetic"]


class AuthOffError(HexmeshError):
    """The node serves without ``--auth``: there are no policies to ask or decide over HTTP."""

    http_status = 409


def sidecar_of(node: Node) -> PolicySidecar:
    """The node's policy sidecar; AuthOffError (409) on a node that does not enforce policies."""
    if node.sidecar is None:
        raise AuthOffError("this node serves with --no-auth; start it without --no-auth to enforce policies")
    return node.sidecar


def one_view_for_all(node: Node) -> bool:
    """Whether every caller of the node has the same view (a node without ``--auth``: the unrestricted
    principal's), so a whole snapshot may be served from one cached file with a plain ETag."""
    return node.sidecar is None


def download(
    node: Node,
    principal: Principal,
    reader: OutputPortReader,
    fmt: str,
    req: ReadRequest,
    snapshot: int | None,
    *,
    purpose: str = "",
    variant: Variant = "rows",
) -> Iterator[bytes]:
    """The encoded rows of a read as ``principal`` may see them (403 before the first byte)."""
    schema, batches = shaped(node, principal, reader, req, snapshot, purpose=purpose, variant=variant)
    return port_files.encode(fmt, schema, batches)


def shaped(
    node: Node,
    principal: Principal,
    reader: OutputPortReader,
    req: ReadRequest,
    snapshot: int | None,
    *,
    purpose: str = "",
    variant: Variant = "rows",
) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """The rows of a read as ``principal`` may see them: planned and audited now, read as iterated.

    Read through the policy's door (:mod:`hexmesh.product.policy.door`, ADR 0026), batch by batch:
    the request's filter and event-time window act on the rows as the caller sees them; one naming a
    column it may not see is refused, and the refusal is audited with what was sent.
    """
    windowed = req.since is not None or req.until is not None or req.after is not None
    read = PortRead(
        reader.product,
        principal,
        reader.spec.name,
        via="files",
        snapshot_id=snapshot,
        as_of=req.as_of,
        window=Window(since=req.since, until=req.until, after_snapshot=req.after) if windowed else None,
        columns=req.columns,
        filter=req.filter,
        purpose=purpose,
        variant=variant,
    )
    schema, _, batches = shaped_batches(node.policies, read)
    return schema, batches


def pinned_etag(
    node: Node, principal: Principal, reader: OutputPortReader, tag: str, purpose: str, variant: str
) -> str:
    """A pinned download's ETag for this caller: the request's tag plus the plan's fingerprint."""
    plan = node.policies.plan(reader.product, principal, reader.spec.name, purpose=purpose)
    if not plan.decision.allowed:
        return ""  # never a cache hit: the governed read answers 403
    mixed = f"{tag}|{plan.fingerprint()}|{variant}".encode()
    return '"' + hashlib.sha256(mixed).hexdigest()[:32] + '"'


def check_stream(node: Node, principal: Principal, reader: OutputPortReader, purpose: str = "") -> None:
    """Refuse (AccessDeniedError, 403) a stream the principal may not read; audited once."""
    for _ in governed_batches(node.policies, reader.product, principal, reader.spec.name, (), purpose=purpose):
        pass


def filter_events(
    node: Node,
    principal: Principal,
    reader: OutputPortReader,
    events: Sequence[StoredEvent],
    purpose: str = "",
    cursors: Cursors | None = None,
) -> list[tuple[str, str]]:
    """``(cursor, text)`` of the events the principal may see, row data masked; re-planned per batch."""
    return governed_events(
        node.policies, reader.product, principal, reader.spec.name, events, purpose=purpose, cursors=cursors
    )


def stream_cursors(
    node: Node, principal: Principal, reader: OutputPortReader, stream: str, purpose: str = ""
) -> Cursors:
    """How ``principal``'s positions on ``stream`` are written: opaque unless it controls the product."""
    sidecar = node.policies
    return cursors_for(
        sidecar.secret, sidecar.plan(reader.product, principal, reader.spec.name, purpose=purpose), stream
    )


def consumer_name(principal: Principal, consumer: str | None) -> str | None:
    """A consumer's stored name: per principal when policies are enforced, so nobody moves another's offset
    (on a node without ``--auth`` every caller is the unrestricted principal: the name as given)."""
    if consumer is None or principal == UNRESTRICTED:
        return consumer
    return f"{principal.key}|{consumer}"


def ask(node: Node, principal: Principal, key: str, port: str, purpose: str, note: str) -> AccessRequest:
    sidecar = sidecar_of(node)
    if not principal.authenticated:
        raise AuthenticationError("asking for access needs a token: Authorization: Bearer hxm_…")
    return request_access(sidecar, principal, key, port, purpose, note)


def decide(
    node: Node,
    principal: Principal,
    request_id: str,
    verdict: str,
    note: str,
    days: int,
    shape: str | None = None,
) -> AccessRequest:
    sidecar = sidecar_of(node)
    if not principal.authenticated:
        raise AuthenticationError("deciding on access needs a token: Authorization: Bearer hxm_…")
    return decide_access(sidecar, request_id, principal, verdict, note, duration_us=days * DAY_US, shape=shape)
