"""``hexmesh init``: scaffold a product that validates, deploys and runs as it is."""

from __future__ import annotations

import re
from pathlib import Path

from hexmesh.errors import HexmeshError
from hexmesh.spec import SPEC_FILENAME
from hexmesh.spec.address import NAME_PATTERN

__all__ = ["init_product"]

_SPEC = """\
# A data product: identity, ports, transformation, promises.
# For editor completion: hexmesh spec schema > dataproduct.schema.json
domain: {domain}
name: {name}
version: 0.1.0
status: draft
owner: {owner}
description: Orders as they are placed, one row per order.
docs: README.md
tags: [example]

inputPorts:
  - name: raw_orders
    description: Order files exported by the shop, one CSV per day.
    source: {{format: csv, path: data}}
    window: incremental          # each file is read once

transformation:
  sql: transform.sql             # DuckDB SQL; input ports are tables

outputPorts:
  - name: orders
    description: One row per order.
    eventTime: ordered_at
    primaryKey: [order_id]
    properties:
      - {{name: order_id, logicalType: integer, required: true, description: Order number,
         classification: internal, concept: "https://schema.org/orderNumber"}}
      - {{name: customer_id, logicalType: integer, required: true, classification: personal,
         concept: "https://schema.org/customer"}}
      - {{name: ordered_at, logicalType: timestamp, required: true, classification: internal}}
      - {{name: status, logicalType: string, classification: internal}}
      - {{name: amount, logicalType: decimal, precision: 12, scale: 2, classification: internal}}
    slo:
      freshness: 1d
    quality:
      - acceptedValues: {{field: status, values: [placed, shipped, returned]}}
      - range: {{field: amount, min: 0}}
      - rowCount: {{min: 1}}

# Personal fields need a privacy rule (a blocking rule of the mesh checks it). Readers other than
# the owner see a keyed pseudonym, equal within the domain so joins still work.
policies:
  privacy:
    - {{field: customer_id, pseudonymize: {{scope: domain}}}}
"""

_SQL = """\
-- One query; the input port raw_orders is a table. File access is disabled.
select
    order_id,
    customer_id,
    cast(ordered_at as timestamp) as ordered_at,
    lower(status) as status,
    cast(amount as decimal(12, 2)) as amount
from raw_orders
"""

_README = """\
# {domain}/{name}

Describe what this product means, who it is for and how to use it. The discovery port
serves this file.

Try it:

    hexmesh validate {folder}
    hexmesh deploy {folder}
    hexmesh run {domain}/{name}
    hexmesh read dp://{domain}/{name}/orders
"""

_CSV = """\
order_id,customer_id,ordered_at,status,amount
1,101,2026-01-01 09:30:00,placed,19.90
2,102,2026-01-01 10:05:00,shipped,5.00
3,101,2026-01-01 11:45:00,placed,42.50
"""


def init_product(folder: Path, *, domain: str, name: str, owner: str) -> list[Path]:
    """Write a working product into ``folder``; refuse to overwrite an existing spec."""
    for label, value in (("domain", domain), ("name", name)):
        if not re.match(NAME_PATTERN, value):
            raise HexmeshError(
                f"{label} {value!r} is not valid: use lower-case letters and digits joined by "
                "hyphens, for example sales or order-events"
            )
    if (folder / SPEC_FILENAME).exists():
        raise HexmeshError(f"{folder / SPEC_FILENAME} already exists; choose another folder")
    files = {
        SPEC_FILENAME: _SPEC.format(domain=domain, name=name, owner=owner),
        "transform.sql": _SQL,
        "README.md": _README.format(domain=domain, name=name, folder=folder),
        "data/orders-2026-01-01.csv": _CSV,
    }
    written = []
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
