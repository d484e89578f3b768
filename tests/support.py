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


# YAML bombs (tests/spec/test_safe_yaml.py): a few hundred bytes that expand to 10^7..10^9 nodes.
#: 9 levels of 10 aliases: 10^9 nodes once expanded, 300 bytes of text.
LAUGHS = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
)
#: A rule set of about 570 bytes whose rules list expands to 8^8 (16.7 million) rules.
RULES_BOMB = "name: bomb\nversion: 1\nr0: &r0 [{id: x, on: product, require: {owner: present}}]\n" + "".join(
    f"r{i}: &r{i} [*r{i - 1}, *r{i - 1}, *r{i - 1}, *r{i - 1}, *r{i - 1}, *r{i - 1}, *r{i - 1}, *r{i - 1}]\n"
    for i in range(1, 9)
)
RULES_BOMB += "rules: *r8\n"


def grant_product(folder: Path, reader: str, port: str) -> None:
    """Let product ``reader`` (``domain/name``) read ``port`` of the product in ``folder``: an access
    rule appended to its spec's policies (input ports read upstreams as their product's principal)."""
    spec = folder / "dataproduct.yaml"
    text = spec.read_text(encoding="utf-8")
    rule = f"    - {{id: {reader.replace('/', '-')}-reads, allow: {{product: {reader}}}, ports: [{port}]}}\n"
    if "\n  access:\n" in text:
        text = text.replace("\n  access:\n", "\n  access:\n" + rule, 1)
    elif "\npolicies:\n" in text:
        text = text.replace("\npolicies:\n", "\npolicies:\n  access:\n" + rule, 1)
    else:
        text = text.rstrip("\n") + "\npolicies:\n  access:\n" + rule
    spec.write_text(text, encoding="utf-8")
