"""Impact: what breaks if a port changes, transitively, with owners; only over the entries given."""

from __future__ import annotations

import pytest

from hexmesh.errors import AddressError, NotFoundError
from hexmesh.mesh import InputEntry, PortEntry, ProductEntry, impact


def product(key: str, owner: str, ports: tuple[str, ...], *reads: str) -> ProductEntry:
    domain, name = key.split("/")
    return ProductEntry(
        domain=domain,
        name=name,
        version="1.0.0",
        owner=owner,
        inputs=tuple(InputEntry(name=f"in{i}", from_=r) for i, r in enumerate(reads)),
        ports=tuple(PortEntry(name=p) for p in ports),
    )


MESH = [
    product("sales/orders", "sales@x", ("orders", "refunds")),
    product("finance/revenue", "fin@x", ("daily", "monthly"), "dp://sales/orders/orders"),
    product("exec/board", "ceo@x", ("kpis",), "dp://finance/revenue/monthly"),
    product("ops/returns", "ops@x", ("returns",), "dp://sales/orders/refunds"),  # another port: unaffected
    product("finance/forecast", "fin@x", ("plan",), "dp://finance/revenue/daily", "dp://sales/orders@1/orders"),
]


def test_the_readers_of_a_port_and_theirs_are_affected_nearest_first_with_owners() -> None:
    found = impact(MESH, "dp://sales/orders/orders")
    assert found.port == "dp://sales/orders/orders"
    assert [(a.product, a.depth, a.owner) for a in found.affected] == [
        ("finance/revenue", 1, "fin@x"),
        ("finance/forecast", 1, "fin@x"),  # reads major 1 of the port directly: depth 1, not 2
        ("exec/board", 2, "ceo@x"),
    ]
    revenue = found.affected[0]
    assert (revenue.input, revenue.reads) == ("in0", "dp://sales/orders/orders")
    assert revenue.ports == ("dp://finance/revenue/daily", "dp://finance/revenue/monthly")
    assert "dp://exec/board/kpis" in found.ports
    assert found.to_dict()["affected"][2]["ports"] == ["dp://exec/board/kpis"]


def test_a_port_nobody_reads_breaks_nothing() -> None:
    assert impact(MESH, "dp://exec/board/kpis").affected == ()


def test_what_the_viewer_cannot_discover_is_not_shown_nor_what_is_reached_only_through_it() -> None:
    seen = [e for e in MESH if e.key != "finance/revenue"]  # hidden from this viewer
    assert [a.product for a in impact(seen, "dp://sales/orders/orders").affected] == ["finance/forecast"]


def test_a_cycle_a_bad_peer_announces_ends() -> None:
    loop = [product("a/x", "a@x", ("p",), "dp://b/y/q"), product("b/y", "b@x", ("q",), "dp://a/x/p")]
    assert [a.product for a in impact(loop, "dp://a/x/p").affected] == ["b/y"]


def test_a_product_address_is_refused_with_the_form_to_write() -> None:
    with pytest.raises(AddressError, match="names a product, not a port; write dp://<domain>/<product>/<port>"):
        impact(MESH, "dp://sales/orders")


def test_an_unknown_or_hidden_port_is_not_found_the_same_way() -> None:
    with pytest.raises(NotFoundError, match="sales/orders has no output port 'nope'; its ports are orders, refunds"):
        impact(MESH, "dp://sales/orders/nope")
    seen = [e for e in MESH if e.key != "sales/orders"]
    with pytest.raises(NotFoundError, match="no product 'sales/orders' in the mesh index"):
        impact(seen, "dp://sales/orders/orders")
