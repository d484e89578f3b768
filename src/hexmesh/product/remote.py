"""An input port another node serves (docs/adr/0033-inputs-across-nodes.md).

A ``dp://`` input this workspace does not hold is looked for on the peers of the settings. Once
found, the run reads it through that node's files port, as its own product principal there (the
token of ``peer_credentials``): the snapshot listing first, then the Parquet of one pinned snapshot,
so an ``incremental`` window (``after`` the last snapshot read) and a ``last 7d`` window (``since``)
are exact. The peer's policies shape what arrives — grants, masks, row filters — exactly as for any
consumer of that node; nothing is opened or filtered here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

from hexmesh.errors import HexmeshError, InputError
from hexmesh.infra.settings import Settings
from hexmesh.product.policy.read import Window
from hexmesh.product.policy.upstream import InputRefusedError, consumer_principal
from hexmesh.spec import DataProductSpec, InputPort, parse_address

__all__ = ["PeerUnavailableError", "RemotePort", "RemoteRead", "latest_snapshot", "locate", "read_remote", "refusal"]

#: Seconds to connect to a peer and between two chunks of its answer.
TIMEOUT = httpx.Timeout(30.0, connect=5.0)


class PeerUnavailableError(InputError):
    """The node serving an input does not answer: the run fails and is retried on its next trigger."""


@dataclass(frozen=True)
class RemotePort:
    """An output port served by the peer at ``peer`` (its base URL), of the product's ``major`` (None:
    the newest the peer serves); ``snapshots``: its listing as :func:`locate` found it (a read pins
    one of them without asking again), None when not read."""

    peer: str
    product: str
    port: str
    major: int | None = None
    snapshots: tuple[dict[str, Any], ...] | None = field(default=None, compare=False, repr=False)

    @property
    def address(self) -> str:
        return f"dp://{self.product}/{self.port}"

    @property
    def url(self) -> str:
        served = self.product if self.major is None else f"{self.product}@{self.major}"
        return f"{self.peer}/products/{served}/ports/{self.port}"

    def lists(self, snapshot_id: object) -> bool:
        """Whether the listing holds ``snapshot_id``: then this peer serves the table it was read from
        (another node of the same cluster, say), since snapshot ids are random 63-bit numbers."""
        return self.snapshots is not None and any(item.get("snapshot_id") == snapshot_id for item in self.snapshots)


@dataclass(frozen=True)
class RemoteRead:
    """What one run read of a remote port: a local Parquet file and the snapshot pinned."""

    file: Path | None
    schema: pa.Schema
    rows: int
    snapshot_id: int


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _unavailable(peer: str, port: InputPort, exc: Exception) -> PeerUnavailableError:
    return PeerUnavailableError(
        f"input port {port.name!r} reads {port.from_} from the node {peer}, which does not answer "
        f"({type(exc).__name__}: {exc}); the run is retried on its next trigger (this node's own ports keep serving)"
    )


def locate(
    settings: Settings,
    consumer: DataProductSpec,
    port: InputPort,
    hint: str | None = None,
    major: int | None = None,
) -> RemotePort | None:
    """The peer serving ``port``'s upstream: ``hint`` (where it was found last time) first, then the
    peers of the settings, in order. None when no peer serves it.

    The major read is the address's ``@N``, else ``major`` (the one the last good run read), else the
    newest the peer serves, learnt from its discovery document: like a local input's pin
    (lifecycle/pins.py), a new major on the peer never reaches the consumer silently.

    Raises:
        PeerUnavailableError: no answering peer serves it and some did not answer (one may be it).
    """
    assert port.from_ is not None
    address = parse_address(port.from_)
    product, name = address.product_key, address.port or ""
    major = address.major if address.major is not None else major
    peers = list(dict.fromkeys(p.rstrip("/") for p in (hint, *settings.peers) if p))
    silent: list[tuple[str, Exception]] = []
    gone: list[tuple[str, str]] = []  # peers that no longer serve the pinned major, and what they said
    for peer in peers:
        remote = RemotePort(peer, product, name, major)
        token = settings.peer_credential(peer, consumer.key)
        try:
            answer = httpx.get(f"{remote.url}/snapshots", headers=_headers(token), timeout=TIMEOUT)
            served = major if major is not None else _served_major(remote, token)
        except httpx.TransportError as exc:
            silent.append((peer, exc))
            continue
        if answer.status_code == 200:
            return RemotePort(peer, product, name, served, tuple(answer.json()))
        if answer.status_code != 404:  # a refusal: the read reports it, with the access request to file
            return remote
        if major is not None and peer == hint:
            gone.append((peer, _detail(answer)))
    if gone:
        peer, said = gone[0]
        raise InputError(
            f"input port {port.name!r} reads {port.from_} major {major} from the node {peer}, which no longer "
            f"serves it ({said}); read the major it names: from: dp://{product}@<major>/{name}"
        )
    if silent:
        first, error = silent[0]
        raise _unavailable(first, port, error)
    return None


def _served_major(remote: RemotePort, token: str) -> int | None:
    """The major the peer serves at the product's unversioned address (its discovery document's
    version), or None when it does not say (the read then follows the newest)."""
    answer = httpx.get(f"{remote.peer}/products/{remote.product}", headers=_headers(token), timeout=TIMEOUT)
    version = answer.json().get("dcat:version") if answer.status_code == 200 else None
    head = str(version).split(".", 1)[0] if version else ""
    return int(head) if head.isdigit() else None


def _detail(answer: httpx.Response) -> str:
    try:
        body: Any = answer.json()
    except ValueError:
        return answer.text[:300] or answer.reason_phrase
    return str(body.get("detail") or body.get("title") or body) if isinstance(body, dict) else str(body)


def _refusal(remote: RemotePort, consumer: DataProductSpec, port: InputPort, answer: httpx.Response) -> HexmeshError:
    """A peer's refusal, worded as a local one (lifecycle's plan and run errors), naming the node."""
    detail = _detail(answer).split(". Ask for access:")[0]
    if answer.status_code == 401:
        sent = "its token" if answer.request.headers.get("authorization") else "a read without a token"
        return InputError(
            f"input port {port.name!r} of {consumer.key} reads {port.from_} from the node {remote.peer}, which "
            f"refused {sent} ({detail}); on that node, create a token for {consumer_principal(consumer).key} "
            f"(hexmesh token create {consumer.key} --kind DataProduct --group {consumer.owner}) and name it in "
            "this node's peer_credentials"
        )
    if answer.status_code == 403:
        purpose = port.purpose or "<purpose>"
        declare = "" if port.purpose else f", and declare that purpose on input port {port.name!r}"
        return InputRefusedError(
            f"input port {port.name!r} of {consumer.key} reads {port.from_} from the node {remote.peer} as "
            f"{consumer_principal(consumer).key} (owner team {consumer.owner}), which may not read it: {detail}. "
            f"Ask for access on that node: hexmesh access request {remote.address} --purpose {purpose} "
            f"--for {consumer.key}{declare}"
        )
    return InputError(
        f"input port {port.name!r} reads {port.from_} from the node {remote.peer}, which answered "
        f"{answer.status_code}: {detail}"
    )


def _get(remote: RemotePort, path: str, token: str, port: InputPort, **params: Any) -> httpx.Response:
    try:
        return httpx.get(remote.url + path, params=params, headers=_headers(token), timeout=TIMEOUT)
    except httpx.TransportError as exc:
        raise _unavailable(remote.peer, port, exc) from exc


def _snapshots(remote: RemotePort, token: str, consumer: DataProductSpec, port: InputPort) -> list[dict[str, Any]]:
    answer = _get(remote, "/snapshots", token, port)
    if answer.status_code != 200:
        raise _refusal(remote, consumer, port, answer)
    found: list[dict[str, Any]] = answer.json()
    return found


def latest_snapshot(settings: Settings, remote: RemotePort, consumer: DataProductSpec, port: InputPort) -> int | None:
    """The newest snapshot ``remote`` has published (None: none yet); what the scheduler polls."""
    token = settings.peer_credential(remote.peer, consumer.key)
    found = remote.snapshots if remote.snapshots is not None else _snapshots(remote, token, consumer, port)
    return int(found[-1]["snapshot_id"]) if found else None


def refusal(settings: Settings, remote: RemotePort, consumer: DataProductSpec, port: InputPort) -> str | None:
    """Why ``remote``'s node would refuse ``consumer``'s read (plan and deploy check it as a local
    grant), or None when it reads; asks the node's read plan without reading any rows."""
    token = settings.peer_credential(remote.peer, consumer.key)
    try:
        # The refusal comes before the first byte; the answer is closed unread.
        with httpx.stream(
            "GET",
            f"{remote.url}/data",
            params={"format": "arrow", "purpose": port.purpose or ""},
            headers=_headers(token),
            timeout=TIMEOUT,
        ) as answer:
            if answer.status_code == 200:
                return None
            answer.read()
            return str(_refusal(remote, consumer, port, answer))
    except httpx.TransportError as exc:
        return str(_unavailable(remote.peer, port, exc))


def _pinned(found: Iterable[dict[str, Any]], as_of: datetime) -> int | None:
    """The snapshot published last at ``as_of`` (the listing is oldest first)."""
    pinned = None
    for item in found:
        if datetime.fromisoformat(item["published_at"]) <= as_of:
            pinned = int(item["snapshot_id"])
    return pinned


def read_remote(
    settings: Settings,
    remote: RemotePort,
    consumer: DataProductSpec,
    port: InputPort,
    *,
    as_of: datetime,
    window: Window | None,
    folder: Path,
) -> RemoteRead:
    """``remote``'s rows as ``consumer``'s principal may read them on that node, at the snapshot it
    had published at ``as_of``, saved as one Parquet file in ``folder``.

    Raises:
        PeerUnavailableError: the node does not answer.
        InputRefusedError: the node refuses the principal (no grant), naming the access request to file.
        InputError: the node has published nothing yet, or answered something else.
    """
    token = settings.peer_credential(remote.peer, consumer.key)
    listing = remote.snapshots if remote.snapshots is not None else _snapshots(remote, token, consumer, port)
    pinned = _pinned(listing, as_of)
    if pinned is None:
        raise InputError(
            f"input port {port.name!r} reads {port.from_} from the node {remote.peer}, which has published "
            "nothing yet; the product runs when it does"
        )
    params: dict[str, Any] = {"format": "parquet", "purpose": port.purpose or ""}
    if window is not None:
        for name, value in (("since", window.since), ("until", window.until), ("after", window.after_snapshot)):
            if value is not None:
                params[name] = value.isoformat() if isinstance(value, date) else value
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{remote.port}-{pinned}.parquet"
    try:
        with httpx.stream(
            "GET",
            f"{remote.url}/snapshots/{pinned}/data",
            params=params,
            headers=_headers(token),
            timeout=TIMEOUT,
            follow_redirects=True,
        ) as answer:
            if answer.status_code != 200:
                answer.read()
                raise _refusal(remote, consumer, port, answer)
            with target.open("wb") as sink:
                for chunk in answer.iter_bytes(8 * 1024 * 1024):
                    sink.write(chunk)
    except httpx.TransportError as exc:  # also a node that dies mid-download
        target.unlink(missing_ok=True)
        raise _unavailable(remote.peer, port, exc) from exc
    metadata = pq.read_metadata(target)
    schema = metadata.schema.to_arrow_schema()
    if not metadata.num_rows:
        target.unlink()
        return RemoteRead(None, schema, 0, pinned)
    return RemoteRead(target, schema, metadata.num_rows, pinned)
