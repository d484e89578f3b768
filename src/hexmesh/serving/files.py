"""The files port as a node serves it: snapshot listings and encoded rows, as each caller may see them.

Listings are shaped for every caller (on a node served with ``--no-auth``: the unrestricted
principal). Rows are read through the policy sidecar (:mod:`hexmesh.serving.governed`) on a node
that enforces policies; a node without ``--auth`` still streams the stored rows (:func:`unshaped`;
moving it behind the door is ADR 0032's follow-up). The HTTP route only streams, sets headers and
redirects.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from hexmesh.governance import Principal
from hexmesh.product import OutputPortReader, ReadRequest
from hexmesh.product import files as port_files
from hexmesh.product.policy import one_request
from hexmesh.product.sealing import is_sealed
from hexmesh.serving import disclosure, governed
from hexmesh.serving.governed import unshaped
from hexmesh.serving.node import Node

__all__ = ["FORMATS", "encoded", "listing", "pinned_tag", "rows", "sealed", "snapshot_file", "unshaped"]

#: Media type of each download format.
FORMATS = port_files.FORMATS
Variant = Literal["rows", "synthetic"]


def listing(node: Node, domain: str, name: str, port: str, caller: Principal) -> list[dict[str, Any]]:
    """Published snapshots, oldest first; counts and sizes only for callers who read every row (or run it)."""
    reader = node.reader(domain, name, port)
    with one_request():
        disclosure.require_port(node, caller, reader.product, port)
        counts = disclosure.may_see_counts(node, caller, reader.product, port)
    base = f"{node.endpoints.product(reader.product.key)}/ports/{port}/snapshots"
    return [
        {
            "snapshot_id": s.snapshot_id,
            "run_id": s.run_id,
            "published_at": datetime.fromtimestamp(s.published_us / 1_000_000, tz=UTC).isoformat(),
            "rows_added": s.rows_added if counts else None,
            "rows": s.rows if counts else None,
            "files": s.files if counts else None,
            "size_bytes": s.size_bytes if counts else None,
            "data_url": f"{base}/{s.snapshot_id}/data",
        }
        for s in port_files.snapshots(reader)
    ]


def rows(
    node: Node,
    caller: Principal,
    reader: OutputPortReader,
    fmt: str,
    req: ReadRequest,
    snapshot: int | None,
    *,
    purpose: str = "",
    variant: Variant = "rows",
) -> Iterator[bytes]:
    """The encoded rows of a read as the caller may see them; bad requests and refusals raise before the first byte."""
    if not unshaped(node):
        return governed.download(node, caller, reader, fmt, req, snapshot, purpose=purpose, variant=variant)
    batches = port_files.batches(reader, req, snapshot)  # validates before the response starts
    return port_files.encode(fmt, port_files.schema_of(reader, req), batches)


def pinned_tag(
    node: Node,
    caller: Principal,
    reader: OutputPortReader,
    snapshot_id: int,
    fmt: str,
    req: ReadRequest,
    *,
    purpose: str = "",
    variant: str = "rows",
) -> str:
    """The ETag of a pinned snapshot's data (404 for a snapshot the port never published).

    A caller's view adds its plan, so it never matches the raw cached file ("" when refused).
    """
    port_files.pinned(reader, snapshot_id)
    tag = port_files.etag(reader, snapshot_id, fmt, req)
    return tag if unshaped(node) else governed.pinned_etag(node, caller, reader, tag, purpose, variant)


def sealed(reader: OutputPortReader) -> bool:
    """Whether the port seals restricted fields: their plaintext is never cached, and a forget changes bytes."""
    return is_sealed(reader.spec)


def snapshot_file(reader: OutputPortReader, snapshot_id: int, req: ReadRequest, tag: str) -> Path:
    """The cached Parquet file of a pinned read (written on first use)."""
    return port_files.parquet_file(reader, snapshot_id, req, tag)


def encoded(fmt: str, table: Any) -> bytes:
    """A whole Arrow table in one of the download formats."""
    return b"".join(port_files.encode(fmt, table.schema, iter(table.to_batches())))
