"""Bitemporal reads: as_of processing time, since/until event time, columns and filter."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from hexmesh.errors import NotFoundError, ReadError
from hexmesh.infra.state import from_us
from hexmesh.lifecycle import Workspace
from hexmesh.product import ReadRequest
from tests.support import orders_csv


@pytest.fixture
def two_days(workspace: Workspace, orders: Path) -> Workspace:
    workspace.deploy([orders])
    workspace.run("sales/orders")
    (orders / "data" / "day2.csv").write_text(orders_csv(100, 4, day="2026-01-02"))
    workspace.run("sales/orders")
    return workspace


def ids(table: object) -> list[int]:
    return sorted(table.column("order_id").to_pylist())  # type: ignore[attr-defined]


def test_as_of_returns_what_was_published_then_forever(two_days: Workspace) -> None:
    reader = two_days.reader("dp://sales/orders/orders")
    first, second = reader.publications()
    at_first = ReadRequest(as_of=from_us(first.published_us))
    between = ReadRequest(as_of=from_us(second.published_us) - timedelta(microseconds=1))
    assert ids(two_days.read(reader.address, at_first)) == [1, 2, 3, 4, 5]
    assert ids(two_days.read(reader.address, between)) == [1, 2, 3, 4, 5]
    assert ids(two_days.read(reader.address)) == [1, 2, 3, 4, 5, 100, 101, 102, 103]
    assert two_days.read(reader.address, at_first).equals(two_days.read(reader.address, at_first))


def test_before_the_first_publication_a_port_is_empty_with_its_schema(two_days: Workspace) -> None:
    table = two_days.read("dp://sales/orders/orders", ReadRequest(as_of=datetime(2000, 1, 1, tzinfo=UTC)))
    assert table.num_rows == 0
    assert table.column_names == ["order_id", "customer", "ordered_at", "amount"]


def test_since_and_until_select_event_time(two_days: Workspace) -> None:
    day2 = two_days.read("dp://sales/orders/orders", ReadRequest(since=date(2026, 1, 2)))
    assert ids(day2) == [100, 101, 102, 103]
    early = ReadRequest(since=datetime(2026, 1, 1, 2, tzinfo=UTC), until=datetime(2026, 1, 1, 4, tzinfo=UTC))
    assert ids(two_days.read("dp://sales/orders/orders", early)) == [2, 3]


def test_columns_and_filter(two_days: Workspace) -> None:
    table = two_days.read(
        "dp://sales/orders/orders",
        ReadRequest(columns=("order_id",), filter="order_id >= 100 and order_id < 102"),
    )
    assert table.column_names == ["order_id"]
    assert ids(table) == [100, 101]


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (ReadRequest(since=date(2026, 1, 2), until=date(2026, 1, 1)), "must be before until"),
        (ReadRequest(as_of=datetime.now(UTC) + timedelta(days=1)), "is in the future"),
        (ReadRequest(columns=("order_idd",)), "did you mean 'order_id'"),
        (ReadRequest(filter="order_id >>> 3"), "is not understood"),
        (ReadRequest(filter="no_such_column = 3"), "no_such_column"),
    ],
)
def test_bad_reads_say_what_is_wrong(two_days: Workspace, request_: ReadRequest, message: str) -> None:
    with pytest.raises(ReadError, match=message):
        two_days.read("dp://sales/orders/orders", request_)


def test_unknown_products_and_ports_name_the_closest(two_days: Workspace) -> None:
    with pytest.raises(NotFoundError, match="did you mean sales/orders"):
        two_days.read("dp://sales/order/orders")
    with pytest.raises(NotFoundError, match="no output port 'order'.*did you mean orders"):
        two_days.read("dp://sales/orders/order")
