"""A product's paths stay inside its folder: validate and deploy refuse every way out, at file:line:col."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hexmesh.errors import SpecError, WorkspaceError
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
from tests.support import ORDERS_SPEC, ORDERS_SQL, ProductFactory, orders_csv

FILES = {"transform.sql": ORDERS_SQL, "data/day1.csv": orders_csv(1, 3), "README.md": "# Orders\n"}
WITH_DOCS = ORDERS_SPEC.replace("description: Orders.", "description: Orders.\ndocs: README.md")


def refused(workspace: Workspace, folder: Path) -> list[str]:
    """Every problem validate reports (each as ``file:line:col: message``); deploy refuses too."""
    with pytest.raises(SpecError) as caught:
        workspace.validate([folder])
    with pytest.raises(SpecError):
        workspace.deploy([folder])
    assert workspace.runtime.state.versions("sales/orders") == []
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("written", "replaced", "line", "reason"),
    [
        ("docs: README.md", "docs: /etc/hostname", 6, "docs file '/etc/hostname' is an absolute path outside"),
        ("docs: README.md", "docs: ../../../etc/hostname", 6, "climbs out of the product folder with '..'"),
        ("sql: transform.sql", "sql: ../../etc/passwd", 12, "SQL file '../../etc/passwd' climbs out"),
        ("sql: transform.sql", "python: /abs/evil.py:build", 12, "Python file '/abs/evil.py' is an absolute path"),
        ("path: data}", "path: ../../home/keys/master.key}", 9, "source path '../../home/keys/master.key' climbs"),
        ("path: data}", "path: /etc}", 9, "source path '/etc' is an absolute path outside"),
    ],
)
def test_a_path_out_of_the_product_folder_is_a_located_validate_error(
    workspace: Workspace, make_product: ProductFactory, written: str, replaced: str, line: int, reason: str
) -> None:
    folder = make_product("orders", WITH_DOCS.replace(written, replaced), FILES)
    (problem,) = refused(workspace, folder)
    assert f"dataproduct.yaml:{line}:" in problem
    assert reason in problem


def test_a_readme_symlinked_to_etc_passwd_is_refused_and_not_copied(
    workspace: Workspace, make_product: ProductFactory
) -> None:
    folder = make_product("orders", WITH_DOCS, {k: v for k, v in FILES.items() if k != "README.md"})
    (folder / "README.md").symlink_to("/etc/passwd")
    problems = refused(workspace, folder)
    assert any("docs file 'README.md' is (or goes through) a symlink that leads outside" in p for p in problems)
    assert any("README.md:1:1: README.md is (or goes through) a symlink that leads outside" in p for p in problems)
    assert not (workspace.settings.bundles / "sales").exists()


def test_a_helper_module_linked_out_of_the_folder_is_refused(
    workspace: Workspace, make_product: ProductFactory, tmp_path: Path
) -> None:
    (tmp_path / "outside.py").write_text("SECRET = 1\n", encoding="utf-8")
    folder = make_product("orders", ORDERS_SPEC, FILES)
    (folder / "helper.py").symlink_to(tmp_path / "outside.py")
    (problem,) = refused(workspace, folder)
    assert "helper.py:1:1: helper.py is (or goes through) a symlink that leads outside the product folder" in problem


def test_a_source_may_not_name_the_nodes_home(tmp_path: Path, make_product: ProductFactory) -> None:
    # The workspace's home sits inside the product folder, as ./.hexmesh does in a one-product workspace.
    folder = make_product("orders", ORDERS_SPEC.replace("path: data}", "path: .hexmesh/keys}"), FILES)
    workspace = Workspace(Settings.defaults(folder / ".hexmesh"))
    try:
        (problem,) = refused(workspace, folder)
    finally:
        workspace.close()
    assert "leads into the node's home (its keys, tokens and settings), which no product may read" in problem


def test_a_source_root_from_the_settings_admits_an_absolute_path(tmp_path: Path, make_product: ProductFactory) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "day1.csv").write_text(orders_csv(1, 4), encoding="utf-8")
    folder = make_product("orders", ORDERS_SPEC.replace("path: data}", f"path: {shared}}}"), FILES)
    strict = Workspace(Settings.defaults(tmp_path / "ws"))
    try:
        (problem,) = refused(strict, folder)
        assert "is an absolute path outside the product folder or the node's source roots" in problem
        assert "source_roots setting (HEXMESH_SOURCE_ROOTS" in problem
    finally:
        strict.close()
    allowing = Workspace(Settings.defaults(tmp_path / "ws").merged({"source_roots": [str(shared)]}))
    try:
        allowing.deploy([folder])
        allowing.run("sales/orders")
        assert allowing.read("dp://sales/orders/orders").num_rows == 4
    finally:
        allowing.close()


def test_a_source_root_containing_the_home_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match=r"source root .* contains the node's home .*name a folder beside it"):
        Settings.defaults(tmp_path / "ws").merged({"source_roots": [str(tmp_path)]})


def test_paths_inside_the_folder_still_deploy(workspace: Workspace, make_product: ProductFactory) -> None:
    files = {**FILES, "elsewhere/day2.csv": orders_csv(10, 4)}
    folder = make_product("orders", WITH_DOCS.replace("path: data}", "path: ./data/../data}"), files)
    os.symlink("../elsewhere/day2.csv", folder / "data" / "day2.csv")  # a link that stays inside is fine
    workspace.deploy([folder])
    workspace.run("sales/orders")
    assert workspace.read("dp://sales/orders/orders").num_rows == 7


@pytest.mark.parametrize(
    ("origin", "key"),
    [
        ("source: {format: csv, path: 'data/${HEXMESH_MASTER_KEY}'}", "path"),
        (
            "source: {postgres: 'postgresql://app:${AWS_SECRET_ACCESS_KEY}@localhost/db', table: t, cursor: at}",
            "postgres",
        ),
        # The node's own state store: its URL may carry a password, and it holds what the node keeps.
        ("source: {postgres: '${HEXMESH_STATE_URL}', table: tokens, cursor: at}", "postgres"),
    ],
)
def test_a_source_naming_a_secret_variable_is_a_located_validate_error(
    workspace: Workspace, make_product: ProductFactory, origin: str, key: str
) -> None:
    spec = ORDERS_SPEC.replace("source: {format: csv, path: data}", origin)
    (problem,) = refused(workspace, make_product("orders", spec, FILES))
    assert "dataproduct.yaml:8:" in problem
    assert f"source {key} uses $" in problem and "which holds one of the node's secrets" in problem
