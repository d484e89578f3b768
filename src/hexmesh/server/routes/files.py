"""The files port: snapshots, and downloads in Parquet, JSON lines, CSV or Arrow IPC."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse

from hexmesh.server.deps import Caller, Domain, Name, NodeDep, PortName, etag_matches
from hexmesh.server.problems import responses
from hexmesh.serving import OutputPortReader, ReadRequest, files
from hexmesh.serving.node import Node

router = APIRouter(tags=["files"])
Format = Literal["parquet", "jsonl", "csv", "arrow"]
_DATA = {
    200: {
        "description": "The rows, streamed",
        "content": {media.split(";")[0]: {} for media in files.FORMATS.values()},
    },
    **responses(400, 401, 403, 404),
}
Purpose = Annotated[str, Query(description="Why you read (nodes that enforce policies check it against them).")]
Variant = Annotated[Literal["rows", "synthetic"], Query(description="synthetic: rows that belong to nobody.")]
_AFTER = "Only the rows published after this snapshot id (an incremental reader's last position)."
After = Annotated[int | None, Query(description=_AFTER)]


def _request(
    as_of: Annotated[datetime | None, Query(description="Processing time (default now).")] = None,
    since: Annotated[datetime | None, Query(description="Event time from (inclusive).")] = None,
    until: Annotated[datetime | None, Query(description="Event time until (exclusive).")] = None,
    columns: Annotated[str | None, Query(description="Comma-separated columns.")] = None,
    filter: Annotated[str | None, Query(description="Row filter: \"status = 'placed'\".")] = None,
    after: After = None,
) -> ReadRequest:
    names = tuple(c.strip() for c in columns.split(",") if c.strip()) if columns else None
    return ReadRequest(as_of=as_of, since=since, until=until, columns=names, filter=filter, after=after)


@router.get("/products/{domain}/{name}/ports/{port}/snapshots", responses=responses(401, 403, 404))
def snapshots(domain: Domain, name: Name, port: PortName, node: NodeDep, caller: Caller) -> list[dict[str, Any]]:
    """Published snapshots, oldest first: time, rows, files and size.

    With policies enforced: for callers who may discover the port; counts and sizes only for those
    who read every row (or run the product).
    """
    return files.listing(node, domain, name, port, caller)


async def _stream(node: Node, chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Pull chunks in a worker thread one at a time; always close the scan, even on disconnect."""
    node.open_streams += 1
    try:
        while (chunk := await anyio.to_thread.run_sync(next, chunks, None)) is not None:
            yield chunk
    finally:
        node.open_streams -= 1
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def _disposition(reader: OutputPortReader, fmt: str, snapshot: int | None) -> str:
    suffix = f"-{snapshot}" if snapshot else ""
    return f'attachment; filename="{reader.spec.name}{suffix}.{fmt}"'


@router.get(
    "/products/{domain}/{name}/ports/{port}/data",
    responses={
        **_DATA,
        307: {"description": "A whole snapshot as Parquet: its immutable pinned URL (Location)"},
    },
    response_class=Response,
)
async def data(
    domain: Domain,
    name: Name,
    port: PortName,
    node: NodeDep,
    request: Request,
    caller: Caller,
    format: Format = "parquet",
    as_of: datetime | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    columns: str | None = None,
    filter: str | None = None,
    after: After = None,
    purpose: Purpose = "",
    variant: Variant = "rows",
) -> Response:
    """A port's data as of a processing time, for an event-time window, streamed."""
    req = _request(as_of, since, until, columns, filter, after)
    reader = await anyio.to_thread.run_sync(node.reader, domain, name, port)
    publication = await anyio.to_thread.run_sync(reader.publication, req.as_of)
    snapshot = publication.snapshot_id if publication else None
    headers = {
        "Cache-Control": "no-cache",
        "Content-Disposition": _disposition(reader, format, None),
    }
    if snapshot is not None:
        # Built on the node's public URL, so it is right behind a proxy too; as_of is now pinned.
        query = request.url.remove_query_params("as_of").query
        pinned = f"{node.endpoints.product(reader.product.key)}/ports/{reader.spec.name}/snapshots/{snapshot}/data"
        pinned += f"?{query}" if query else ""
        headers["Content-Location"] = pinned
        whole = format == "parquet" and variant == "rows" and req == ReadRequest(as_of=req.as_of)
        if whole and files.one_view_for_all(node):
            # The whole snapshot as Parquet: send the client to the immutable URL, which is a
            # cached file with an ETag and Range support. Clients that read Parquet over HTTP
            # (pandas, polars, DuckDB, fsspec, curl -L) follow redirects.
            return RedirectResponse(pinned, status_code=307, headers={"Cache-Control": "no-cache"})
    body = await anyio.to_thread.run_sync(
        lambda: files.rows(node, caller, reader, format, req, snapshot, purpose=purpose, variant=variant)
    )
    return StreamingResponse(_stream(node, body), media_type=files.FORMATS[format], headers=headers)


@router.get(
    "/products/{domain}/{name}/ports/{port}/snapshots/{snapshot_id}/data",
    responses={
        **_DATA,
        304: {"description": "Not modified"},
        206: {"description": "Partial content (Parquet)"},
    },
    response_class=Response,
)
async def pinned_data(
    domain: Domain,
    name: Name,
    port: PortName,
    snapshot_id: int,
    node: NodeDep,
    caller: Caller,
    format: Format = "parquet",
    since: datetime | None = None,
    until: datetime | None = None,
    columns: str | None = None,
    filter: str | None = None,
    if_none_match: Annotated[str | None, Header()] = None,
    after: After = None,
    purpose: Purpose = "",
    variant: Variant = "rows",
) -> Response:
    """A published snapshot's data: immutable, with a strong ETag; Parquet supports Range.

    With ``after``, only the rows published after that snapshot: how a product on another node
    reads an input incrementally (docs/mesh.md, "Inputs across nodes")."""
    req = _request(None, since, until, columns, filter, after)
    reader = await anyio.to_thread.run_sync(node.reader, domain, name, port)
    # The caller's view: its plan is part of the tag, never the raw cached file.
    tag = await anyio.to_thread.run_sync(
        lambda: files.pinned_tag(node, caller, reader, snapshot_id, format, req, purpose=purpose, variant=variant)
    )
    headers = {
        "ETag": tag,
        # A forget changes a sealed port's bytes (and ETag): caches must revalidate.
        "Cache-Control": "no-cache" if files.sealed(reader) else "public, max-age=31536000, immutable",
        "Content-Disposition": _disposition(reader, format, snapshot_id),
    }
    if etag_matches(if_none_match, tag):
        return Response(status_code=304, headers=headers)
    if not files.one_view_for_all(node):
        if not tag:
            headers.pop("ETag")
        body = await anyio.to_thread.run_sync(
            lambda: files.rows(node, caller, reader, format, req, snapshot_id, purpose=purpose, variant=variant)
        )
        return StreamingResponse(_stream(node, body), media_type=files.FORMATS[format], headers=headers)
    if format == "parquet" and not files.sealed(reader):  # plaintext of restricted fields is never cached
        path = await anyio.to_thread.run_sync(files.snapshot_file, node, caller, reader, snapshot_id, req, tag)
        return FileResponse(path, media_type=files.FORMATS[format], headers=headers)
    body = await anyio.to_thread.run_sync(lambda: files.rows(node, caller, reader, format, req, snapshot_id))
    return StreamingResponse(_stream(node, body), media_type=files.FORMATS[format], headers=headers)
