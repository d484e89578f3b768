"""Pause: a product paused by its control port is skipped by the scheduler and refused by runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
from hexmesh.product.control import ControlState, PausedError
from tests.lifecycle.test_scheduler import done, node, runs, source
from tests.support import ProductFactory, orders_csv


def pause(workspace: Workspace, key: str, paused: bool = True) -> None:
    # The same store the node's POST .../control/pause writes.
    ControlState(workspace.runtime.state.db).update(key, paused=paused)


def test_the_scheduler_skips_a_paused_product_until_it_is_resumed(
    workspace: Workspace, make_product: ProductFactory
) -> None:
    folders = [source(make_product), node(make_product, "a", ["chain/source"]), node(make_product, "b", ["chain/a"])]
    workspace.deploy(folders)
    scheduler = workspace.scheduler()
    try:
        pause(workspace, "chain/a")
        workspace.run("chain/source")
        assert scheduler.tick() == []  # a is paused, and b has nothing new from a
        assert runs(workspace, "chain/a") == []
        assert workspace.status("chain/a").paused
        pause(workspace, "chain/a", paused=False)
        assert done(scheduler.tick()) == ["a:succeeded", "b:succeeded"]
        assert not workspace.status("chain/a").paused
    finally:
        scheduler.stop()


def test_run_refuses_a_paused_product_and_force_runs_it_once(
    workspace: Workspace, make_product: ProductFactory
) -> None:
    workspace.deploy([source(make_product)])
    pause(workspace, "chain/source")
    with pytest.raises(PausedError, match=r"chain/source is paused .* pass --force to run it once"):
        workspace.run("chain/source")
    assert runs(workspace, "chain/source") == []  # nothing was read, so nothing is lost
    assert workspace.run("chain/source", force=True).rows == {"out": 3}
    assert workspace.paused("chain/source")  # --force does not resume it


def test_run_all_leaves_a_paused_product_out_without_failing_its_dependents(
    workspace: Workspace, make_product: ProductFactory
) -> None:
    folders = [source(make_product), node(make_product, "a", ["chain/source"])]
    workspace.deploy(folders)
    workspace.run("chain/source")
    (folders[0] / "data" / "2.csv").write_text(orders_csv(10, 2))
    pause(workspace, "chain/source")
    outcomes = {getattr(o, "product", ""): o for o in workspace.run_all()}
    assert outcomes["chain/source"].status == "paused"  # type: ignore[union-attr]
    assert outcomes["chain/a"].status == "succeeded"  # type: ignore[union-attr]
    assert workspace.read("dp://chain/a/out").num_rows == 3  # the source's last good snapshot


def another_node(workspace: Workspace, home: Path) -> Workspace:
    """A node with its own home on the same state store, catalog and warehouse."""
    shared = workspace.settings
    return Workspace(
        Settings.defaults(home).merged(
            {"state_url": shared.state_url, "catalog_url": shared.catalog_url, "warehouse": shared.warehouse}
        )
    )


def test_a_pause_on_one_node_holds_on_every_node_of_the_cluster(
    workspace: Workspace, make_product: ProductFactory, tmp_path: Path
) -> None:
    workspace.deploy([source(make_product)])
    other = another_node(workspace, tmp_path / "node-b")
    try:
        pause(workspace, "chain/source")
        assert other.paused("chain/source") and other.status("chain/source").paused
        with pytest.raises(PausedError, match=r"chain/source is paused"):
            other.run("chain/source")
        ControlState(other.runtime.state.db).update("chain/source", paused=False)
        assert not workspace.paused("chain/source")
    finally:
        other.close()


def test_pauses_kept_in_the_home_by_an_older_hexmesh_are_taken_over(workspace: Workspace, tmp_path: Path) -> None:
    folder = workspace.settings.home / "control"
    folder.mkdir(parents=True)
    (folder / "chain__source.json").write_text(json.dumps({"paused": True, "lifecycle": "deprecated"}))
    reopened = Workspace(Settings.defaults(workspace.settings.home))
    try:
        state = ControlState(reopened.runtime.state.db)
        assert state.paused("chain/source") and state.lifecycle("chain/source", "active") == "deprecated"
    finally:
        reopened.close()
    assert not folder.exists() and (folder.parent / "control.moved-to-state" / "chain__source.json").is_file()
