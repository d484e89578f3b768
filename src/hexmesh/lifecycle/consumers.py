"""Who reads whom: the consumers of a product major, from the deployed input ports and pins."""

from __future__ import annotations

from dataclasses import dataclass

from hexmesh.infra.state import VersionRecord
from hexmesh.product import DeployedProduct, Runtime
from hexmesh.spec import parse_address

__all__ = ["Edge", "edges", "live_versions"]


@dataclass(frozen=True)
class Edge:
    """A consumer major reading an upstream major through one input port."""

    consumer: str
    consumer_major: int
    port: str
    upstream: str
    upstream_major: int
    upstream_port: str


def live_versions(runtime: Runtime) -> list[DeployedProduct]:
    """The newest version of every (product, major) that is not retired."""
    retired = runtime.state.retired()
    newest: dict[tuple[str, int], VersionRecord] = {}
    for record in runtime.state.versions():  # newest first within a product
        if (record.product, record.major) not in retired:
            newest.setdefault((record.product, record.major), record)
    return [DeployedProduct(record) for record in newest.values()]


def edges(runtime: Runtime, products: list[DeployedProduct] | None = None) -> list[Edge]:
    """Every input-port edge between live product majors, with the upstream major each reads."""
    products = live_versions(runtime) if products is None else products
    newest_major: dict[str, int] = {}
    for product in products:
        newest_major[product.key] = max(newest_major.get(product.key, 0), product.record.major)
    found = []
    for product in products:
        pins = runtime.state.pins(product.key, product.record.version)
        for port in product.spec.input_ports:
            if port.from_ is None:
                continue
            address = parse_address(port.from_)
            major = address.major
            if major is None:
                pin = pins.get(port.name)
                major = pin[1] if pin else newest_major.get(address.product_key)
            if major is not None:
                edge = Edge(
                    product.key, product.record.major, port.name, address.product_key, major, address.port or ""
                )
                found.append(edge)
    return found
