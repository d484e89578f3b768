"""The files port as a node serves it: snapshot listings and encoded rows, as each caller may see them.

Listings and rows are shaped for every caller, through the policy's door
(:mod:`hexmesh.serving.governed`); on a node served with ``--no-auth`` every caller is the
unrestricted principal, whose view is the stored table, so a whole snapshot is one cached file for
all (:func:`one_view_for_all`). The HTTP route only streams, sets headers and redirects.
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
from hexmesh.serving.governed import one_view_for_all
from hexmesh.serving.node import Node

__all__ = ["FORMATS", "encoded", "listing", "one_view_for_all", "pinned_tag", "rows", "sealed", "snapshot_file"]

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
    port_files.check_after(reader, req)
    return governed.download(node, caller, reader, fmt, req, snapshot, purpose=purpose, variant=variant)


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
    port_files.check_after(reader, req)
    tag = port_files.etag(reader, snapshot_id, fmt, req)
    return tag if one_view_for_all(node) else governed.pinned_etag(node, caller, reader, tag, purpose, variant)


def sealed(reader: OutputPortReader) -> bool:
    """Whether the port seals restricted fields: their plaintext is never cached, and a forget changes bytes."""
    return is_sealed(reader.spec)


def snapshot_file(
    node: Node, caller: Principal, reader: OutputPortReader, snapshot_id: int, req: ReadRequest, tag: str
) -> Path:
    """The cached Parquet file of a pinned read (written on first use from the caller's view: planned and
    audited on every read, hit or not)."""
    schema, batches = governed.shaped(node, caller, reader, req, snapshot_id)
    return port_files.parquet_file(reader, tag, schema, batches)


def encoded(fmt: str, table: Any) -> bytes:
    """A whole Arrow table in one of the download formats."""
    return b"".join(port_files.encode(fmt, table.schema, iter(table.to_batches())))
