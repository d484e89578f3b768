"""The storage side of HTTP ingest: append JSON events durably to a product's landing folder.

A source-aligned product declares an input port reading JSON lines from a folder
(``source: {format: json, path: landing/events}``, ``window: incremental``). Each ingest call
writes one new file: first under a hidden temporary name, flushed and fsynced, then renamed
into place (atomic on POSIX) and the folder fsynced. A reader therefore never sees a partial
file, and an acknowledged call survives a crash. The product's next run reads each file once.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hexmesh.errors import HexmeshError
from hexmesh.product.deployed import DeployedProduct
from hexmesh.product.runtime import Runtime
from hexmesh.product.sources import resolve_path
from hexmesh.spec import SourceSpec

__all__ = ["MAX_EVENTS", "IngestError", "IngestReceipt", "ingest_events"]

#: Events accepted per call; larger batches should be split by the client.
MAX_EVENTS = 100_000


class IngestError(HexmeshError):
    """An ingest request was refused; nothing was written."""

    exit_code = 12
    http_status = 422


@dataclass(frozen=True)
class IngestReceipt:
    """Where a batch of events was stored."""

    product: str
    port: str
    file: Path
    events: int
    received_at: datetime


def _landing(product: DeployedProduct, port: str) -> Path:
    spec = next((p for p in product.spec.input_ports if p.name == port), None)
    names = [p.name for p in product.spec.input_ports if isinstance(p.source, SourceSpec)]
    if spec is None or not isinstance(spec.source, SourceSpec):
        raise IngestError(f"{product.key} has no file input port {port!r} to ingest into; ports: {names or 'none'}")
    if spec.source.format != "json":
        raise IngestError(
            f"input port {port!r} of {product.key} reads {spec.source.format} files; ingest writes JSON "
            "lines, so declare the port with source: {format: json, path: <folder>}"
        )
    folder = resolve_path(spec.source.path, product.origin)
    if folder.suffix:
        raise IngestError(f"input port {port!r} reads the file {folder}; ingest needs a folder as its path")
    return folder


def ingest_events(runtime: Runtime, ref: str, port: str, events: Sequence[Mapping[str, Any]]) -> IngestReceipt:
    """Append ``events`` (JSON objects) to the landing folder of input ``port`` of ``ref``.

    Raises:
        IngestError: the port cannot take events, or an event is not a JSON object.
    """
    product = DeployedProduct.load(runtime, ref)
    folder = _landing(product, port)
    if not events:
        raise IngestError("no events to ingest; send a JSON array of objects")
    if len(events) > MAX_EVENTS:
        raise IngestError(f"{len(events)} events in one call; send at most {MAX_EVENTS} per call")
    lines = []
    for index, event in enumerate(events):
        if not isinstance(event, Mapping):
            raise IngestError(f"event {index} is a {type(event).__name__}, not a JSON object; nothing was written")
        try:
            lines.append(json.dumps(event, separators=(",", ":"), ensure_ascii=False, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise IngestError(f"event {index} is not valid JSON ({exc}); nothing was written") from None
    received = datetime.now(UTC)
    name = f"{received:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:12]}.jsonl"
    folder.mkdir(parents=True, exist_ok=True)
    temporary, final = folder / f".{name}.tmp", folder / name
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, final)
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return IngestReceipt(product.key, port, final, len(lines), received)
