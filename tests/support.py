"""Test data shared by several test modules."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

ProductFactory = Callable[..., Path]

ORDERS_SPEC = """
domain: sales
name: orders
version: 1.0.0
owner: sales@example.com
description: Orders.
inputPorts:
  - name: raw
    source: {format: csv, path: data}
    window: incremental
transformation:
  sql: transform.sql
outputPorts:
  - name: orders
    eventTime: ordered_at
    primaryKey: [order_id]
    properties:
      - {name: order_id, logicalType: integer, required: true}
      - {name: customer, logicalType: string, classification: personal}
      - {name: ordered_at, logicalType: timestamp, required: true}
      - {name: amount, logicalType: number}
    quality:
      - range: {field: amount, min: 0}
policies:
  privacy:  # personal fields need a privacy rule (core.pii-transformed blocks deploys without one)
    - {field: customer, for: {group: partners}, redact: true}
"""

ORDERS_SQL = """
select order_id, customer, cast(ordered_at as timestamp) as ordered_at, amount
from raw
"""


def orders_csv(first: int, count: int, day: str = "2026-01-01", amount: float = 10.0) -> str:
    lines = ["order_id,customer,ordered_at,amount"]
    for n in range(first, first + count):
        lines.append(f"{n},c{n % 7},{day} {n % 24:02d}:00:00,{amount}")
    return "\n".join(lines) + "\n"
