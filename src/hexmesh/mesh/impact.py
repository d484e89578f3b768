"""Impact: what breaks if a port changes — the products and ports downstream of it, transitively.

A product that reads a port through an input is affected, and so is each of its output ports (a
transformation may use any input column); the readers of those ports are affected in turn. The
walk is over the entries it is given, so it shows what their viewer may discover: build it from
``Visibility.entries`` and a hidden product is not shown, nor anything reached only through it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hexmesh.errors import AddressError, NotFoundError
from hexmesh.mesh.entries import ProductEntry
from hexmesh.spec import parse_address

__all__ = ["Affected", "Impact", "impact"]


@dataclass(frozen=True)
class Affected:
    """One product affected by the change: how far downstream, through which input, and who to tell."""

    product: str
    owner: str
    contacts: tuple[str, ...]
    depth: int
    """1: reads the changed port; 2: reads a port of a product at depth 1; …"""
    input: str
    """The affected product's input port that reads the upstream port."""
    reads: str
    """The upstream port it reads (``dp://domain/product/port``)."""
    ports: tuple[str, ...]
    """Its output ports, each affected in turn (``dp://…`` addresses)."""
    stale: bool = False


@dataclass(frozen=True)
class Impact:
    port: str
    affected: tuple[Affected, ...]

    @property
    def ports(self) -> tuple[str, ...]:
        """Every affected output port, nearest first."""
        return tuple(p for a in self.affected for p in a.ports)

    def to_dict(self) -> dict[str, Any]:
        """The impact as JSON (the mesh API's ``/api/impact``)."""
        return {"port": self.port, "affected": [a.__dict__ | {"ports": list(a.ports)} for a in self.affected]}


def _port_key(address: str) -> tuple[str, str | None]:
    parsed = parse_address(address)
    return parsed.product_key, parsed.port


def impact(entries: Iterable[ProductEntry], port: str) -> Impact:
    """What is downstream of ``port`` (``dp://domain/product/port``) among ``entries``, nearest first.

    Raises:
        AddressError: ``port`` is not a port address.
        NotFoundError: no such product or port among ``entries``.
    """
    changed = _port_key(port)
    if changed[1] is None:
        raise AddressError(f"{port!r} names a product, not a port; write dp://<domain>/<product>/<port>")
    entries = list(entries)
    product = next((e for e in entries if e.key == changed[0]), None)
    if product is None:  # missing, or hidden from the viewer: the same answer
        known = ", ".join(e.key for e in entries) or "none you may see"
        raise NotFoundError(f"no product {changed[0]!r} in the mesh index; known: {known}")
    if changed[1] not in {p.name for p in product.ports}:
        shown = ", ".join(p.name for p in product.ports) or "none you may see"
        raise NotFoundError(f"{product.key} has no output port {changed[1]!r}; its ports are {shown}")
    readers: dict[tuple[str, str | None], list[tuple[ProductEntry, str, str]]] = {}
    for entry in entries:
        for put in entry.inputs:
            if put.from_ is not None:
                readers.setdefault(_port_key(put.from_), []).append((entry, put.name, put.from_))
    found: dict[str, Affected] = {}
    queue = deque([(changed, 1)])
    while queue:
        upstream, depth = queue.popleft()
        for entry, name, address in readers.get(upstream, []):
            if entry.key in found or entry.key == changed[0]:
                continue  # reached already, nearer; a cycle (only a bad peer announces one) ends here
            found[entry.key] = Affected(
                product=entry.key,
                owner=entry.owner,
                contacts=entry.contacts,
                depth=depth,
                input=name,
                reads=address,
                ports=tuple(f"{entry.address}/{p.name}" for p in entry.ports),
                stale=entry.stale,
            )
            queue.extend(((entry.key, p.name), depth + 1) for p in entry.ports)
    return Impact(port=f"dp://{changed[0]}/{changed[1]}", affected=tuple(found.values()))
