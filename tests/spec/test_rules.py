"""Rules beyond shape: names in a spec must refer to things that exist."""

from __future__ import annotations

from pathlib import Path

from hexmesh.spec import load_spec, spec_problems
from tests.support import ProductFactory

BASE = """
domain: sales
name: orders
version: 1.0.0
owner: sales@example.com
inputPorts:
  - name: raw
    source: {format: csv, path: data}
  - name: raw
    from: dp://sales/customers/customers
transformation:
  sql: transform.sql
outputPorts:
  - name: orders
    eventTime: customer
    primaryKey: [order_id, nope]
    properties:
      - {name: order_id, logicalType: integer}
      - {name: customer, logicalType: string}
      - {name: customer, logicalType: decimal}
    quality:
      - notNull: [missing_field]
"""


def test_each_broken_reference_is_reported_with_its_location(make_product: ProductFactory) -> None:
    folder = make_product("orders", BASE)
    found = [str(p) for p in spec_problems(load_spec(folder))]
    text = "\n".join(found)
    assert "duplicate input port name 'raw'" in text
    assert "duplicate field name 'customer'" in text
    assert "eventTime 'customer' is a string, not a date or timestamp" in text
    assert "primary key field 'nope' is not a field" in text
    assert "decimal field 'customer' needs a precision" in text
    assert "names 'missing_field', which is not a field" in text
    assert "SQL file 'transform.sql' does not exist" in text
    assert all(":" in p.split(" ")[0] for p in found)  # each is located


def test_one_sql_file_cannot_fill_two_ports(make_product: ProductFactory) -> None:
    spec = BASE.replace("  - name: raw\n    from: dp://sales/customers/customers\n", "").replace(
        "outputPorts:\n", "outputPorts:\n  - name: extra\n    properties: [{name: a, logicalType: string}]\n"
    )
    folder = make_product("orders", spec, {"transform.sql": "select 1"})
    assert any("one SQL file cannot fill 2 output ports" in str(p) for p in spec_problems(load_spec(folder)))


def test_links_must_name_a_field(make_product: ProductFactory, tmp_path: Path) -> None:
    spec = BASE.replace(
        "{name: order_id, logicalType: integer}",
        "{name: order_id, logicalType: integer, links: ['dp://sales/customers/customers']}",
    )
    folder = make_product("orders", spec)
    assert any("must name a field" in str(p) for p in spec_problems(load_spec(folder)))
