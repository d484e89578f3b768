"""Which policies are in force: the latest explicit act of the owners, a control-port revision or a deploy."""

from __future__ import annotations

from pathlib import Path

from hexmesh.lifecycle import Workspace, init_product
from hexmesh.lifecycle.policies import replace_policies
from hexmesh.product import DeployedProduct
from hexmesh.product.policy.revisions import policies_in_force

REPLACEMENT = {
    "access": [{"id": "finance", "allow": {"group": "finance"}}],
    "privacy": [{"field": "customer_id", "pseudonymize": {"scope": "domain"}}],
}


def _bump(folder: Path, version: str, *, policies: str | None = None) -> None:
    spec = folder / "dataproduct.yaml"
    text = spec.read_text()
    text = text.replace(text.split("version: ", 1)[1].split("\n", 1)[0], version, 1)
    if policies is not None:
        text = text.split("\npolicies:")[0] + policies
    spec.write_text(text)


def test_a_revision_survives_a_release_with_the_same_policies_and_yields_to_one_that_changes_them(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "shop"
    init_product(folder, domain="sales", name="shop", owner="me@example.com")
    with Workspace.open(tmp_path / "ws") as workspace:
        workspace.deploy([folder])
        product = DeployedProduct.load(workspace.runtime, "sales/shop")
        assert policies_in_force(workspace.runtime, product).source == "spec"
        in_force = replace_policies(workspace.runtime, product, REPLACEMENT, "User:me@example.com")
        assert (in_force.source, in_force.revision) == ("control", 1)

        _bump(folder, "0.1.1")  # a bug fix: same policies, so the owners' revision stays in force
        workspace.deploy([folder])
        fixed = DeployedProduct.load(workspace.runtime, "sales/shop")
        assert fixed.record.version == "0.1.1"
        assert policies_in_force(workspace.runtime, fixed).policies.access[0].id == "finance"

        stricter = "\npolicies:\n  privacy:\n    - {field: customer_id, redact: true}\n"
        _bump(folder, "0.1.2", policies=stricter)  # the spec's policies change: the deploy is the newer act
        workspace.deploy([folder])
        released = DeployedProduct.load(workspace.runtime, "sales/shop")
        found = policies_in_force(workspace.runtime, released)
        assert (found.source, found.revision) == ("spec", 0) and found.policies.privacy[0].redact
        assert found.latest is not None and found.latest.revision == 1  # kept in the history
