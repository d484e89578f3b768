"""Discovery documents are built once per version of what they say, revalidated with ETags."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from hexmesh.lifecycle import Workspace
from hexmesh.product.discovery import document_version
from tests.server.nodes import TOKEN, RunningNode, add_orders, build_workspace, run_cli, serve

SHOP = "/products/sales/shop"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningNode, Path]]:
    home, shop = build_workspace(tmp_path_factory.mktemp("discovery"), big=False)
    with serve(home) as running:
        yield running, shop


def test_an_unchanged_document_revalidates_with_304(mesh: tuple[RunningNode, Path]) -> None:
    node, _ = mesh
    with node.client() as http:
        # SLO status moves with the clock: a document older than 30 s is rebuilt (new ages, new
        # ETag). On a stalled machine that could fall inside the sequence, so it may run again.
        for _ in range(3):
            first = http.get(SHOP)
            second = http.get(SHOP)
            revalidated = http.get(SHOP, headers={"If-None-Match": first.headers["etag"]})
            listed = http.get(SHOP, headers={"If-None-Match": f'"other", W/{first.headers["etag"]}'})
            if first.headers["etag"] == listed.headers["etag"]:
                break
        stale = http.get(SHOP, headers={"If-None-Match": '"something-else"'})
    assert first.status_code == 200 and first.headers["content-type"] == "application/ld+json"
    assert first.headers["etag"] == second.headers["etag"] and first.content == second.content
    assert first.headers["cache-control"] == "no-cache"  # always revalidate: products change
    assert revalidated.status_code == listed.status_code == 304
    assert revalidated.content == b"" and revalidated.headers["etag"] == first.headers["etag"]
    assert stale.status_code == 200 and stale.json()["dct:identifier"] == "dp://sales/shop"


def test_a_run_in_another_process_changes_the_document_at_once(mesh: tuple[RunningNode, Path]) -> None:
    node, shop = mesh
    with node.client() as http:
        before = http.get(SHOP)
        add_orders(shop, "2026-01-03", 5, 1000)
        run_cli("run", "sales/shop", "--home", str(node.home))
        after = http.get(SHOP, headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    assert len(after.json()["hexmesh:quality"]) == len(before.json()["hexmesh:quality"]) + 1


def test_a_lifecycle_move_changes_the_document_at_once(mesh: tuple[RunningNode, Path]) -> None:
    node, _ = mesh
    with node.client() as http:
        before = http.get(SHOP)
        http.post(f"{SHOP}/control/lifecycle", headers=AUTH, json={"to": "active"}).raise_for_status()
        after = http.get(SHOP, headers={"If-None-Match": before.headers["etag"]})
    assert before.json()["hexmesh:lifecycle"] != "active"
    assert after.status_code == 200 and after.json()["hexmesh:lifecycle"] == "active"


def test_a_deprecation_moves_the_version_of_the_document(mesh: tuple[RunningNode, Path]) -> None:
    node, _ = mesh

    def version() -> tuple[object, ...] | None:
        with Workspace.open(node.home) as workspace:
            return document_version(workspace.runtime, "sales/shop")

    before = version()
    run_cli("deprecate", "sales/shop", "--sunset", str(date.today() + timedelta(days=30)), "--home", str(node.home))
    deprecated = version()
    assert before is not None and deprecated is not None and deprecated != before
    assert version() == deprecated  # stable while nothing changes: cached documents stay
    with Workspace.open(node.home) as workspace:
        assert document_version(workspace.runtime, "sales/nothing") is None


def test_an_unknown_product_is_still_a_404_naming_the_closest(mesh: tuple[RunningNode, Path]) -> None:
    node, _ = mesh
    with node.client() as http:
        response = http.get("/products/sales/shp", headers={"If-None-Match": "*"})
    assert response.status_code == 404 and "sales/shop" in response.json()["detail"]


def test_healthz_answers_without_touching_products(mesh: tuple[RunningNode, Path]) -> None:
    node, _ = mesh
    with node.client() as http:
        response = http.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
