"""Validating a mesh: references across products, and cycles, reported with locations."""

from __future__ import annotations

from pathlib import Path

import pytest

from hexmesh.errors import SpecError
from hexmesh.lifecycle import Workspace
from tests.support import ProductFactory

UPSTREAM = """
domain: sales
name: {name}
version: 1.0.0
owner: sales@example.com
inputPorts:
  - name: raw
    {origin}
outputPorts:
  - name: rows
    properties:
      - {{name: id, logicalType: integer}}
"""


def product(make: ProductFactory, name: str, origin: str) -> Path:
    return make(name, UPSTREAM.format(name=name, origin=origin))


def test_an_input_naming_an_unknown_product_is_reported(workspace: Workspace, make_product: ProductFactory) -> None:
    folder = product(make_product, "b", "from: dp://sales/nowhere/rows")
    with pytest.raises(SpecError) as caught:
        workspace.validate([folder])
    (problem,) = caught.value.problems
    assert "product sales/nowhere is neither deployed nor in this batch" in str(problem)
    assert problem.location is not None and (problem.location.line, problem.location.column) == (7, 11)


def test_an_input_naming_an_unknown_port_lists_the_real_ones(
    workspace: Workspace, make_product: ProductFactory
) -> None:
    product(make_product, "a", "source: {format: csv, path: data}")
    folder = product(make_product, "b", "from: dp://sales/a/row")
    with pytest.raises(SpecError) as caught:
        workspace.validate([folder.parent])
    message = str(caught.value)
    assert "has no output port 'row'" in message
    assert "its output ports are: rows" in message


def test_a_cycle_between_products_is_reported(workspace: Workspace, make_product: ProductFactory) -> None:
    product(make_product, "a", "from: dp://sales/c/rows")
    product(make_product, "b", "from: dp://sales/a/rows")
    folder = make_product("c", UPSTREAM.format(name="c", origin="from: dp://sales/b/rows"))
    with pytest.raises(SpecError) as caught:
        workspace.validate([folder.parent])
    message = str(caught.value)
    assert "cycle" in message
    assert "sales/a → sales/c → sales/b → sales/a" in message


def test_a_product_defined_twice_is_reported(workspace: Workspace, make_product: ProductFactory) -> None:
    product(make_product, "a", "source: {format: csv, path: data}")
    copy = make_product("copy", UPSTREAM.format(name="a", origin="source: {format: csv, path: data}"))
    with pytest.raises(SpecError, match="defined twice"):
        workspace.validate([copy.parent])


def test_problems_from_every_file_come_together(workspace: Workspace, make_product: ProductFactory) -> None:
    make_product("x", "domain: X\n")
    make_product("y", "name: [\n")
    folder = make_product("z", "version: 1\n")
    with pytest.raises(SpecError) as caught:
        workspace.validate([folder.parent])
    files = {p.location.file.split("/")[-2] for p in caught.value.problems if p.location}
    assert files == {"x", "y", "z"}
