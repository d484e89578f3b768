"""The files port: snapshots, the four formats, pinned immutable URLs, Range, bad inputs."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from hexmesh.lifecycle import Workspace
from tests.server.nodes import RunningNode, build_workspace, serve
from tests.stacks import Stack


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, stack: Stack) -> tuple[Path, Path]:
    """The files port on each stack: a local warehouse, and PostgreSQL + SeaweedFS S3 + NATS."""
    return build_workspace(tmp_path_factory.mktemp("files"), stack=stack)


@pytest.fixture(scope="module")
def node(built: tuple[Path, Path]) -> Iterator[RunningNode]:
    with serve(built[0]) as running:
        yield running


SHOP = "/products/sales/shop/ports/orders"
BIG = "/products/sales/big/ports/orders"


def _snapshot(http: httpx.Client, port: str = SHOP) -> int:
    return int(http.get(f"{port}/snapshots").json()[-1]["snapshot_id"])


def test_snapshots_have_time_rows_and_size(node: RunningNode) -> None:
    with node.client() as http:
        (snapshot,) = http.get(f"{SHOP}/snapshots").json()
    assert snapshot["rows"] == snapshot["rows_added"] == 3
    assert snapshot["size_bytes"] > 0 and snapshot["files"] == 1
    assert snapshot["published_at"].endswith("+00:00")


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv", "arrow"])
def test_every_format_returns_what_a_local_read_returns(node: RunningNode, fmt: str) -> None:
    with Workspace.open(node.home) as workspace:
        local = workspace.read("dp://sales/shop/orders")
    with node.client() as http:
        # A whole snapshot as Parquet is a redirect to its pinned URL: follow it, as clients do.
        response = http.get(f"{SHOP}/data", params={"format": fmt}, follow_redirects=True)
    assert response.status_code == 200
    data = response.content
    if fmt == "parquet":
        table = pq.read_table(io.BytesIO(data))
    elif fmt == "arrow":
        table = ipc.open_stream(data).read_all()
    elif fmt == "csv":
        table = pcsv.read_csv(io.BytesIO(data))
    else:
        table = pa.Table.from_pylist([json.loads(line) for line in data.splitlines()])
    assert table.num_rows == local.num_rows
    assert table.column("order_id").to_pylist() == local.column("order_id").to_pylist()


def test_projection_filter_and_window_apply(node: RunningNode) -> None:
    params = {
        "format": "jsonl",
        "columns": "order_id,amount",
        "filter": "amount > 10",
        "since": "2026-01-01T10:00:00Z",
        "until": "2026-01-02",
    }
    with node.client() as http:
        rows = [json.loads(line) for line in http.get(f"{SHOP}/data", params=params).text.splitlines()]
    assert rows == [{"order_id": 3, "amount": 42.5}]  # a decimal is a JSON number


def test_json_lines_and_csv_carry_numbers_as_numbers_and_times_in_one_iso_form(
    node: RunningNode, tmp_path: Path
) -> None:
    import duckdb

    with node.client() as http:
        lines = http.get(f"{SHOP}/data", params={"format": "jsonl"}).text
        csv = http.get(f"{SHOP}/data", params={"format": "csv"}, follow_redirects=True).text
    first = json.loads(lines.splitlines()[0])
    assert isinstance(first["amount"], float)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", first["ordered_at"])
    header, row = csv.splitlines()[:2]
    cells = dict(zip(header.replace('"', "").split(","), row.replace('"', "").split(","), strict=True))
    assert cells["ordered_at"] == first["ordered_at"]
    (tmp_path / "rows.jsonl").write_text(lines)
    ((total,),) = duckdb.sql(f"select sum(amount) from read_json('{tmp_path / 'rows.jsonl'}')").fetchall()  # type: ignore[union-attr]
    with Workspace.open(node.home) as workspace:
        local = workspace.read("dp://sales/shop/orders")
    assert total == pytest.approx(float(sum(local.column("amount").to_pylist())))


def test_pinned_url_is_immutable_with_a_strong_etag(node: RunningNode) -> None:
    with node.client() as http:
        url = f"{SHOP}/snapshots/{_snapshot(http)}/data"
        first = http.get(url, params={"format": "csv"})
        again = http.get(url, params={"format": "csv"}, headers={"If-None-Match": first.headers["etag"]})
    assert "immutable" in first.headers["cache-control"]
    assert not first.headers["etag"].startswith("W/")
    assert again.status_code == 304


def test_pinned_parquet_serves_ranges(node: RunningNode) -> None:
    with node.client() as http:
        url = f"{SHOP}/snapshots/{_snapshot(http)}/data"
        whole = http.get(url).content
        tail = http.get(url, headers={"Range": "bytes=-8"})
    assert tail.status_code == 206
    assert tail.content == whole[-8:] and whole[-4:] == b"PAR1"


def test_unpinned_download_points_at_its_pinned_url(node: RunningNode) -> None:
    with node.client() as http:
        response = http.get(f"{SHOP}/data", params={"format": "csv"})
        pinned = http.get(response.headers["content-location"])
    assert pinned.content == response.content


def test_whole_parquet_download_redirects_to_the_pinned_immutable_url(node: RunningNode) -> None:
    with node.client() as http:
        snapshot = _snapshot(http)
        moved = http.get(f"{SHOP}/data", params={"format": "parquet"})
        followed = http.get(f"{SHOP}/data", follow_redirects=True)
        pinned = http.get(f"{SHOP}/snapshots/{snapshot}/data", params={"format": "parquet"})
    assert moved.status_code == 307
    # The redirect names today's snapshot, so it must not be cached; its target is immutable.
    assert moved.headers["cache-control"] == "no-cache"
    assert moved.headers["location"] == f"{node.url}{SHOP}/snapshots/{snapshot}/data?format=parquet"
    assert followed.content == pinned.content
    assert followed.headers["etag"] == pinned.headers["etag"]
    assert "immutable" in followed.headers["cache-control"]


def test_pandas_and_polars_read_the_unpinned_parquet_url(node: RunningNode) -> None:
    import pandas
    import polars

    url = f"{node.url}{SHOP}/data?format=parquet"
    with Workspace.open(node.home) as workspace:
        local = workspace.read("dp://sales/shop/orders")
    assert pandas.read_parquet(url)["order_id"].tolist() == local.column("order_id").to_pylist()
    assert polars.read_parquet(url)["order_id"].to_list() == local.column("order_id").to_pylist()


@pytest.mark.parametrize(
    "params",
    [{"columns": "order_id"}, {"filter": "amount > 10"}, {"since": "2026-01-01T10:00:00Z"}],
)
def test_a_narrowed_parquet_read_is_streamed_not_redirected(node: RunningNode, params: dict[str, str]) -> None:
    with node.client() as http:
        response = http.get(f"{SHOP}/data", params={"format": "parquet", **params})
    assert response.status_code == 200
    assert "/snapshots/" in response.headers["content-location"]
    assert pq.read_table(io.BytesIO(response.content)).num_rows >= 1


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"since": "2026-01-02", "until": "2026-01-01"}, 400, "must be before until"),
        ({"as_of": "2999-01-01T00:00:00Z"}, 400, "in the future"),
        ({"columns": "amont"}, 400, "did you mean 'amount'"),
        ({"filter": "amount >>> 1"}, 400, "filter"),
        ({"format": "xlsx"}, 400, "format"),
        ({"as_of": "yesterday"}, 400, "as_of"),
    ],
)
def test_bad_reads_are_400_problems(node: RunningNode, params: dict[str, str], status: int, words: str) -> None:
    with node.client() as http:
        response = http.get(f"{SHOP}/data", params=params)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert words in response.json()["detail"]


def test_unknown_port_and_snapshot_are_404s_naming_what_exists(node: RunningNode) -> None:
    with node.client() as http:
        port = http.get("/products/sales/shop/ports/ordrs/data")
        snapshot = http.get(f"{SHOP}/snapshots/42/data")
    assert port.status_code == 404 and "did you mean orders" in port.json()["detail"]
    assert snapshot.status_code == 404 and "never published" in snapshot.json()["detail"]


def _open_streams(http: httpx.Client) -> float:
    for line in http.get("/metrics").text.splitlines():
        if line.startswith("hexmesh_open_streams "):
            return float(line.split()[1])
    raise AssertionError("hexmesh_open_streams is missing from /metrics")


def test_a_client_leaving_mid_download_leaks_no_stream(node: RunningNode) -> None:
    with node.client() as http:
        with http.stream("GET", f"{BIG}/data", params={"format": "jsonl"}) as response:
            first = next(response.iter_bytes())
        assert first
        # The server notices the disconnect asynchronously; wait until it has closed the scan.
        for _ in range(200):
            if _open_streams(http) == 0:
                break
            httpx.get(node.url + "/")  # let time pass without sleeping on a clock
        assert _open_streams(http) == 0


def test_a_large_download_streams_every_row(node: RunningNode) -> None:
    with (
        node.client() as http,
        http.stream("GET", f"{BIG}/data", params={"format": "arrow"}) as response,
    ):
        reader = ipc.open_stream(pa.py_buffer(response.read()))
        rows = sum(batch.num_rows for batch in reader)
    assert rows == 200_000


def test_after_reads_only_what_was_published_after_a_snapshot_and_refuses_an_unknown_one(node: RunningNode) -> None:
    with node.client() as http:
        listing = http.get(f"{SHOP}/snapshots").json()
        latest = listing[-1]["snapshot_id"]
        nothing_new = http.get(f"{SHOP}/snapshots/{latest}/data", params={"format": "jsonl", "after": latest})
        everything = http.get(f"{SHOP}/snapshots/{latest}/data", params={"format": "jsonl"})
        unknown = http.get(f"{SHOP}/snapshots/{latest}/data", params={"format": "jsonl", "after": 12345})
        unknown_unpinned = http.get(f"{SHOP}/data", params={"format": "jsonl", "after": 12345})
    assert nothing_new.status_code == 200 and nothing_new.text == ""
    assert everything.text.count("\n") == 3
    for refused in (unknown, unknown_unpinned):
        assert refused.status_code == 400
        assert "after=12345 is not a snapshot published on dp://sales/shop/orders" in refused.json()["detail"]
