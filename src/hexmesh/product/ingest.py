"""The storage side of HTTP ingest: append JSON events durably to a product's landing folder.

A source-aligned product declares an input port reading JSON lines from a folder
(``source: {format: json, path: landing/events}``, ``window: incremental``). Each ingest call
writes one new file: first under a hidden temporary name, flushed and fsynced, then renamed
into place (atomic on POSIX) and the folder fsynced. A reader therefore never sees a partial
file, and an acknowledged call survives a crash. The product's next run reads each file once.

On a node whose object storage is not its home (a cluster), the file lands in object storage
instead (``landing/<domain>/<product>/<port>/``, one whole-object write), so that the next run
reads it whichever node runs it (:class:`hexmesh.product.landing.ObjectLanding`).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from hexmesh.errors import HexmeshError
from hexmesh.product.deployed import DeployedProduct
from hexmesh.product.landing import ObjectLanding, lands_in_objects
from hexmesh.product.runtime import Runtime
from hexmesh.product.sources import resolve_path
from hexmesh.spec import Confinement, FieldSpec, InputPort, SourceSpec

__all__ = [
    "MAX_EVENTS",
    "IngestError",
    "IngestReceipt",
    "InvalidEventsError",
    "UnknownInputError",
    "check_events",
    "ingest_events",
    "landing_folder",
]

#: Events accepted per call; larger batches should be split by the client.
MAX_EVENTS = 100_000


class IngestError(HexmeshError):
    """An ingest request was refused; nothing was written (the port cannot take events: 409)."""

    exit_code = 12
    http_status = 409


class UnknownInputError(IngestError):
    """The product has no input port of that name."""

    http_status = 404


@dataclass(frozen=True)
class IngestReceipt:
    """Where a batch of events was stored."""

    product: str
    port: str
    #: The new file's name, and where it is: a path, or an object's URI.
    name: str
    location: str
    events: int
    received_at: datetime


class InvalidEventsError(IngestError):
    """Events that do not match the input port's declared properties; nothing was written."""

    http_status = 400


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "decimal": (int, float, str),
    "boolean": (bool,),
    "date": (str,),
    "timestamp": (str,),
    "time": (str,),
    "binary": (str,),
}
_SHOWN = 5


def _problems(fields: Sequence[FieldSpec], index: int, event: Mapping[str, Any]) -> Iterator[str]:
    for spec in fields:
        value = event.get(spec.name)
        if value is None:
            if spec.required:
                yield f"event {index}: {spec.name!r} is required and {'null' if spec.name in event else 'missing'}"
            continue
        wanted = _TYPES[spec.logical_type]
        if (isinstance(value, bool) and bool not in wanted) or not isinstance(value, wanted):
            yield f"event {index}: {spec.name!r} is {value!r}, not a {spec.logical_type}"
        elif spec.logical_type in ("date", "timestamp"):
            try:
                (date if spec.logical_type == "date" else datetime).fromisoformat(str(value))
            except ValueError:
                yield f"event {index}: {spec.name!r} is {value!r}, not an ISO 8601 {spec.logical_type}"


def check_events(port: InputPort, events: Sequence[Mapping[str, Any]]) -> None:
    """Refuse the whole batch if an event misses a required field or has a value of the wrong type.

    Only the port's declared ``properties`` are checked; other keys pass through unchanged.
    """
    problems = [p for index, event in enumerate(events) for p in _problems(port.properties, index, event)]
    if problems:
        more = len(problems) - _SHOWN
        shown = "; ".join(problems[:_SHOWN]) + (f"; and {more} more" if more > 0 else "")
        raise InvalidEventsError(
            f"{len(problems)} problem(s) with the events for input port {port.name!r}: {shown}. Nothing was "
            "written; fix the events and send the whole batch again"
        )


def landing_folder(product: DeployedProduct, port: str, confinement: Confinement | None = None) -> Path:
    """The folder input ``port`` reads JSON lines from; refuse a port that cannot take events.

    The folder must lie where the product's sources may (``confinement``): ingest writes there.
    """
    spec = next((p for p in product.spec.input_ports if p.name == port), None)
    names = [p.name for p in product.spec.input_ports if isinstance(p.source, SourceSpec)]
    if spec is None:
        raise UnknownInputError(
            f"{product.key} has no input port {port!r} to ingest into; file input ports: {names or 'none'}"
        )
    if not isinstance(spec.source, SourceSpec):
        raise IngestError(
            f"input port {port!r} of {product.key} reads {'an upstream product' if spec.from_ else 'PostgreSQL'}, "
            f"not files; ingest writes JSON lines into a file input port: {names or 'none'}"
        )
    if spec.source.format != "json":
        raise IngestError(
            f"input port {port!r} of {product.key} reads {spec.source.format} files; ingest writes JSON "
            "lines, so declare the port with source: {format: json, path: <folder>}"
        )
    folder = resolve_path(spec.source.path, product.origin, confinement)
    if folder.suffix:
        raise IngestError(f"input port {port!r} reads the file {folder}; ingest needs a folder as its path")
    return folder


def ingest_events(runtime: Runtime, ref: str, port: str, events: Sequence[Mapping[str, Any]]) -> IngestReceipt:
    """Append ``events`` (JSON objects) to the landing folder of input ``port`` of ``ref``.

    Raises:
        IngestError: the port cannot take events, or an event is not a JSON object.
        InvalidEventsError: an event does not match the port's declared ``properties``.
    """
    product = DeployedProduct.load(runtime, ref)
    folder = landing_folder(product, port, product.confinement(runtime.settings))
    if not events:
        raise InvalidEventsError("no events to ingest; send a JSON array of objects")
    if len(events) > MAX_EVENTS:
        raise InvalidEventsError(f"{len(events)} events in one call; send at most {MAX_EVENTS} per call")
    lines = []
    for index, event in enumerate(events):
        if not isinstance(event, Mapping):
            raise InvalidEventsError(
                f"event {index} is a {type(event).__name__}, not a JSON object; nothing was written"
            )
        try:
            lines.append(json.dumps(event, separators=(",", ":"), ensure_ascii=False, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise InvalidEventsError(f"event {index} is not valid JSON ({exc}); nothing was written") from None
    spec = next(p for p in product.spec.input_ports if p.name == port)
    check_events(spec, events)
    received = datetime.now(UTC)
    name = f"{received:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:12]}.jsonl"
    if lands_in_objects(runtime.settings):
        if spec.window_spec.kind != "incremental":
            raise IngestError(
                f"input port {port!r} of {product.key} reads its whole folder at each run; events sent to this "
                "node land in object storage, which only window: incremental inputs read. Declare the port "
                "with window: incremental; nothing was written"
            )
        landing = ObjectLanding.of(runtime.storage, product.key, port)
        key = landing.put(name, ("\n".join(lines) + "\n").encode("utf-8"))
        return IngestReceipt(product.key, port, name, landing.storage.locate(key), len(lines), received)
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
    return IngestReceipt(product.key, port, name, str(final), len(lines), received)
