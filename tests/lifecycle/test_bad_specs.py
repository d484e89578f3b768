"""Bad specs at deploy time: a clear error, and the published data does not change."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hexmesh.errors import SpecError
from hexmesh.lifecycle import Workspace

Breakage = Callable[[str], str]

CASES: dict[str, tuple[Breakage, str]] = {
    "malformed YAML": (lambda s: s.replace("owner: sales@example.com", "owner: [sales"), "malformed YAML"),
    "unknown field": (lambda s: s.replace("description: Orders.", "descripton: Orders."), "did you mean 'description'"),
    "wrong type": (
        lambda s: s.replace("logicalType: number", "logicalType: 12"),
        r"outputPorts\[orders\]\.properties\[amount\]\.logicalType",
    ),
    "duplicate port names": (
        lambda s: s.replace(
            "outputPorts:\n", "outputPorts:\n  - name: orders\n    properties: [{name: a, logicalType: string}]\n"
        ),
        "duplicate output port name 'orders'",
    ),
    "unknown upstream product": (
        lambda s: s.replace("    source: {format: csv, path: data}\n", "    from: dp://sales/nowhere/orders\n"),
        "sales/nowhere is neither deployed nor in this batch",
    ),
    "a product reading itself": (
        lambda s: s.replace("    source: {format: csv, path: data}\n", "    from: dp://sales/orders/order\n"),
        "products depend on each other in a cycle",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_spec_is_refused_and_nothing_published_changes(workspace: Workspace, orders: Path, case: str) -> None:
    workspace.deploy([orders])
    workspace.run("sales/orders")
    before = workspace.read("dp://sales/orders/orders")
    publications = workspace.reader("dp://sales/orders/orders").publications()
    spec = orders / "dataproduct.yaml"
    breakage, message = CASES[case]
    spec.write_text(breakage(spec.read_text()).replace("version: 1.0.0", "version: 1.0.1"))
    with pytest.raises(SpecError, match=message) as caught:
        workspace.deploy([orders])
    assert all(p.location is not None for p in caught.value.problems)
    assert [v.version for v in workspace.runtime.state.versions("sales/orders")] == ["1.0.0"]
    assert workspace.read("dp://sales/orders/orders").equals(before)
    assert workspace.reader("dp://sales/orders/orders").publications() == publications
