"""A batch deploys whole or not at all; a refused deploy leaves nothing behind; a failure says what was deployed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hexmesh.cli.main import app
from hexmesh.lifecycle import BatchDeployError, Workspace
from tests.lifecycle.test_majors import consumer, major_two
from tests.support import ProductFactory


def _nothing_of(workspace: Workspace, key: str) -> None:
    """No version, no table, no bundle of ``key``."""
    domain, name = key.split("/")
    assert workspace.runtime.state.versions(key) == []
    assert not workspace.runtime.tables.exists((domain, name, "v1", "seen"))
    assert not (workspace.settings.bundles / domain / name).exists()


def test_a_deploy_refused_for_a_retired_upstream_leaves_nothing_behind(
    workspace: Workspace, orders: Path, make_product: ProductFactory
) -> None:
    workspace.deploy([orders])
    major_two(orders)
    workspace.deploy([orders])
    workspace.retire("sales/orders@1")
    with pytest.raises(BatchDeployError, match=r"reads sales/orders@1, which is retired") as raised:
        workspace.deploy([consumer(make_product, "dp://sales/orders@1/orders")])
    assert "none was deployed" in str(raised.value)
    _nothing_of(workspace, "finance/revenue")


def test_one_refused_product_deploys_none_of_the_batch_and_says_which(
    workspace: Workspace, orders: Path, make_product: ProductFactory
) -> None:
    workspace.deploy([orders])
    major_two(orders)
    workspace.deploy([orders])
    workspace.retire("sales/orders@1")
    good = consumer(make_product, "dp://sales/orders@2/orders", name="fresh")
    bad = consumer(make_product, "dp://sales/orders@1/orders", name="stale")
    with pytest.raises(BatchDeployError) as raised:
        workspace.deploy([good, bad])
    error = raised.value
    assert list(error.refused) == ["finance/stale 1.0.0"] and error.not_deployed == ["finance/fresh 1.0.0"]
    assert "1 of 2 product(s) cannot deploy, so none was deployed" in str(error)
    assert "Not deployed although they could be (a batch deploys whole): finance/fresh 1.0.0" in str(error)
    for key in ("finance/fresh", "finance/stale"):
        _nothing_of(workspace, key)
    result = CliRunner().invoke(app, ["deploy", str(good), str(bad), "--home", str(workspace.settings.home)])
    assert result.exit_code == 5 and "finance/stale 1.0.0" in result.output


def test_a_failure_while_writing_says_what_was_deployed_and_undoes_its_product(
    workspace: Workspace, orders: Path, make_product: ProductFactory
) -> None:
    revenue = consumer(make_product)
    # Something in the way of revenue's bundle: the deploy gets an OSError while writing.
    blocked = workspace.settings.bundles / "finance" / "revenue"
    blocked.parent.mkdir(parents=True)
    blocked.write_text("not a folder")
    with pytest.raises(BatchDeployError) as raised:
        workspace.deploy([orders, revenue])
    error = raised.value
    assert [o.product for o in error.deployed] == ["sales/orders"]
    assert list(error.refused) == ["finance/revenue 1.0.0"] and error.not_deployed == []
    assert "Deployed: sales/orders 1.0.0." in str(error) and "nothing was deployed" in str(error)
    assert workspace.runtime.state.versions("finance/revenue") == []
    assert not workspace.runtime.tables.exists(("finance", "revenue", "v1", "seen"))
    blocked.unlink()
    assert [o.product for o in workspace.deploy([orders, revenue])] == ["sales/orders", "finance/revenue"]


def test_a_failure_after_storing_the_bundle_takes_the_bundle_back(
    workspace: Workspace, orders: Path, make_product: ProductFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace.deploy([orders])
    storage = workspace.runtime.storage
    kept = set(storage.keys("bundle-store/"))
    assert kept, "the orders bundle is in object storage"

    def state_down(*args: object, **kwargs: object) -> None:
        raise OSError("the state store went away")

    # The bundle is stored, then recording the version fails: the version, and its bundle, must go.
    monkeypatch.setattr(workspace.runtime.state, "set_pins", state_down)
    with pytest.raises(BatchDeployError, match="the state store went away"):
        workspace.deploy([consumer(make_product)])
    assert workspace.runtime.state.versions("finance/revenue") == []
    assert set(storage.keys("bundle-store/")) == kept  # orders' bundle stays, revenue's is gone
    monkeypatch.undo()
    workspace.deploy([consumer(make_product)])
    assert len(set(storage.keys("bundle-store/")) - kept) > 0
