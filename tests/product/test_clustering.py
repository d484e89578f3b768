"""A port's files are sorted by the fields its row filters test, so a filtered read skips row groups (ADR 0044)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from hexmesh.demo import example_mesh
from hexmesh.lifecycle import Workspace
from hexmesh.product.clustering import cluster_keys
from hexmesh.spec import load_spec, parse_spec
from tests.support import ProductFactory

SPEC = """
domain: sales
name: orders
version: 1.0.0
owner: sales@example.com
inputPorts:
  - name: raw
    source: {format: csv, path: data}
    window: incremental
transformation:
  sql: {orders: orders.sql, totals: totals.sql}
outputPorts:
  - name: orders
    properties:
      - {name: order_id, logicalType: integer}
      - {name: region, logicalType: string}
      - {name: channel, logicalType: string}
      - {name: customer, logicalType: string, classification: restricted}
      - {name: buyer, logicalType: string, tags: [subject]}
  - name: totals
    properties: [{name: region, logicalType: string}, {name: amount, logicalType: number}]
policies:
  access:
    - {allow: {group: analysts}}
    - {allow: {group: regional}, ports: [orders], rows: {region: principal.region}}
    - {allow: {group: partners}, rows: {channel: partner, region: principal.region}}
    - {allow: {group: support}, ports: [orders], rows: {customer: principal.id}}
    - {allow: {group: nobody}, ports: [totals], rows: {amount: 0}}
"""


def test_the_keys_are_the_row_filter_fields_of_the_port_in_the_order_the_rules_name_them() -> None:
    spec, _ = parse_spec(SPEC, "dataproduct.yaml")
    # region (regional), then channel (partners; region already named); customer is sealed.
    assert cluster_keys(spec, "orders") == ("region", "channel")
    # A rule without ports covers every port; a field the port lacks is no key of it.
    assert cluster_keys(spec, "totals") == ("region", "amount")
    assert cluster_keys(spec, "missing") == ()


def test_a_port_without_row_filters_is_not_sorted() -> None:
    spec, _ = parse_spec(SPEC.split("policies:")[0], "dataproduct.yaml")
    assert cluster_keys(spec, "orders") == ()


def test_the_example_plays_cluster_by_country() -> None:
    spec = load_spec(example_mesh() / "podcasts" / "play-events").spec
    assert cluster_keys(spec, "plays") == ("country",)


REGIONAL = """
domain: sales
name: regional
version: 1.0.0
owner: sales@example.com
inputPorts:
  - name: raw
    source: {format: csv, path: data}
    window: incremental
transformation:
  sql: orders.sql
outputPorts:
  - name: orders
    properties:
      - {name: order_id, logicalType: integer}
      - {name: region, logicalType: string}
      - {name: amount, logicalType: number}
policies:
  access:
    - {allow: {group: regional}, rows: {region: principal.region}}
"""


def test_published_files_are_sorted_by_the_keys_and_keep_every_row(
    workspace: Workspace, make_product: ProductFactory
) -> None:
    regions = ["US", "EU", None, "APAC", "EU", "US", "APAC", "EU"]
    lines = ["order_id,region,amount"] + [f"{n},{r or ''},{n * 1.5}" for n, r in enumerate(regions)]
    folder = make_product(
        "regional",
        REGIONAL,
        {
            "orders.sql": "select order_id, nullif(region, '') as region, amount from raw",
            "data/a.csv": "\n".join(lines),
        },
    )
    workspace.deploy([folder])
    workspace.run("sales/regional")
    reader = workspace.reader("dp://sales/regional/orders")
    publication = reader.publication()
    assert publication is not None
    files = workspace.runtime.tables.files(reader.record.table_id, publication.snapshot_id)
    stored = [pq.read_table(Path(path)) for path in files.paths]
    assert len(stored) == 1
    # Sorted by region, nulls last; rows of one region keep the transformation's order.
    assert stored[0].column("region").to_pylist() == ["APAC", "APAC", "EU", "EU", "EU", "US", "US", None]
    assert stored[0].column("order_id").to_pylist() == [3, 6, 1, 4, 7, 0, 5, 2]
    assert sorted(workspace.read(reader.address).column("order_id").to_pylist()) == list(range(len(regions)))
