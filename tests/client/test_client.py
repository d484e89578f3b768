"""hexmesh.connect: products and ports of a remote node, over the network only."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import polars as pl
import pytest

import hexmesh
from hexmesh.client import RemoteError, SqlUnavailableError
from hexmesh.errors import NotFoundError, ReadError
from tests.server.nodes import TOKEN, RunningNode


def test_products_ports_and_reads(node: RunningNode) -> None:
    with hexmesh.connect(node.url) as mesh:
        assert mesh.products() == ["sales/shop"]
        shop = mesh.product("sales/shop")
        assert shop.ports() == ["orders"]
        orders = shop.port("orders")
        table = orders.read(columns=["order_id", "amount"], filter="amount > 10")
        assert table.column_names == ["order_id", "amount"]
        assert table.column("order_id").to_pylist() == [1, 3]
        window = orders.read(since=datetime(2026, 1, 1, 10, tzinfo=UTC), until="2026-01-02")
        assert window.num_rows == 2
        assert orders.read(as_of=datetime(2020, 1, 1, tzinfo=UTC)).num_rows == 0
        assert isinstance(orders.read(to="pandas"), pd.DataFrame)
        assert isinstance(mesh.port("dp://sales/shop/orders").read(to="polars"), pl.DataFrame)
        assert orders.snapshots()[0]["rows"] == 3


def test_subscribe_iterates_cloudevents(node: RunningNode) -> None:
    with hexmesh.connect(node.url) as mesh:
        orders = mesh.product("sales/shop").port("orders")
        events = list(orders.subscribe(start="beginning", limit=3))
        assert [e["data"]["order_id"] for e in events] == [1, 2, 3]
        assert list(orders.subscribe(start="end", follow=False)) == []
        since = datetime(2026, 1, 1, 10, tzinfo=UTC)  # event time: rows at or after it
        later = list(orders.subscribe(start="beginning", since=since, follow=False))
        assert [e["data"]["order_id"] for e in later] == [2, 3]


def test_errors_are_as_clear_as_the_server(node: RunningNode) -> None:
    with hexmesh.connect(node.url) as mesh:
        with pytest.raises(NotFoundError, match="did you mean sales/shop"):
            mesh.product("sales/shp").describe()
        with pytest.raises(NotFoundError, match="did you mean orders"):
            mesh.product("sales/shop").port("ordrs").read()
        with pytest.raises(ReadError, match="must be before until"):
            mesh.product("sales/shop").port("orders").read(since="2026-02-01", until="2026-01-01")
        with pytest.raises(RemoteError, match="needs a token") as refused:
            mesh.product("sales/shop").run()
        assert refused.value.http_status == 401
        with pytest.raises(SqlUnavailableError, match="SQL port"):
            mesh.product("sales/shop").port("orders").sql("select 1")


def test_a_token_allows_control(node: RunningNode) -> None:
    with hexmesh.connect(node.url, token=TOKEN) as mesh:
        assert mesh.product("sales/shop").run()["status"] in ("skipped", "succeeded")


def test_an_unreachable_node_is_a_transport_error() -> None:
    import httpx

    with hexmesh.connect("http://127.0.0.1:9") as mesh, pytest.raises(httpx.ConnectError):
        mesh.products()
