"""The mesh-wide lineage page and its impact ("what breaks if this port changes"), per viewer.

sales/shop (public metadata) → finance/revenue (visible to its owner only) → exec/board (public
metadata), served by ``hexmesh serve --auth``. The revenue owner sees both downstream products;
an anonymous visitor sees neither revenue nor the board behind it.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hexmesh.lifecycle import Workspace, init_product
from tests.server.ui.conftest import screenshot
from tests.server.ui.nodes import ServedNode, served
from tests.server.ui.test_access import PRIVACY, token
from tests.support import grant_product

PUBLIC = "policies:\n  access:\n    - {allow: {anyone: true}, actions: [discover]}\n"


def _reader(folder: Path, domain: str, name: str, owner: str, reads: str, public: bool) -> None:
    folder.mkdir(parents=True)
    spec = f"""
        domain: {domain}
        name: {name}
        version: 1.0.0
        owner: {owner}
        inputPorts:
          - {{name: upstream, from: "{reads}"}}
        transformation: {{sql: transform.sql}}
        outputPorts:
          - name: totals
            properties:
              - {{name: status, logicalType: string}}
              - {{name: total, logicalType: number}}
        """
    (folder / "dataproduct.yaml").write_text(textwrap.dedent(spec) + (PUBLIC if public else ""))
    (folder / "transform.sql").write_text("select status, sum(total) as total from upstream group by status")


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedNode]:
    root = tmp_path_factory.mktemp("lineage")
    init_product(root / "shop", domain="sales", name="shop", owner="shop-team@example.com")
    spec = root / "shop" / "dataproduct.yaml"
    spec.write_text(spec.read_text().split("\npolicies:")[0] + PRIVACY)  # public metadata, one redacted column
    grant_product(root / "shop", "finance/revenue", "orders")
    _reader(root / "revenue", "finance", "revenue", "finance@example.com", "dp://sales/shop/orders", public=False)
    (root / "revenue" / "transform.sql").write_text("select status, sum(amount) as total from upstream group by status")
    grant_product(root / "revenue", "exec/board", "totals")
    _reader(root / "board", "exec", "board", "exec@example.com", "dp://finance/revenue/totals", public=True)
    with Workspace.open(root / "ws") as workspace:
        workspace.deploy([root / "shop", root / "revenue", root / "board"])
    with served(root / "ws", "--auth") as node:
        yield node


def get(node: ServedNode, path: str, secret: str | None = None, **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return httpx.get(node.url + path, params=params, headers=headers, timeout=60)


def test_the_downstream_owner_sees_every_product_that_breaks_with_owners(mesh: ServedNode) -> None:
    finance = token(mesh.home, "finance@example.com")
    found = get(mesh, "/api/impact", finance, port="dp://sales/shop/orders")
    assert found.status_code == 200, found.text
    affected = found.json()["affected"]
    assert [(a["product"], a["depth"], a["owner"], a["input"]) for a in affected] == [
        ("finance/revenue", 1, "finance@example.com", "upstream"),
        ("exec/board", 2, "exec@example.com", "upstream"),
    ]
    assert affected[0]["ports"] == ["dp://finance/revenue/totals"]

    page = get(mesh, "/ui/lineage", finance, port="dp://sales/shop/orders")
    assert page.status_code == 200
    assert "affects 2 products and 2 ports" in page.text
    assert 'aria-label="exec/board (affected)"' in page.text and 'aria-label="finance/revenue (affected)"' in page.text
    assert "exec@example.com" in page.text


def test_an_anonymous_visitor_sees_no_hidden_product_nor_what_lies_behind_it(mesh: ServedNode) -> None:
    found = get(mesh, "/api/impact", port="dp://sales/shop/orders")
    assert found.status_code == 200 and found.json()["affected"] == []
    page = get(mesh, "/ui/lineage", port="dp://sales/shop/orders")
    assert page.status_code == 200
    assert "Nothing you may see reads" in page.text
    assert "finance/revenue" not in page.text and "finance@example.com" not in page.text
    hidden = get(mesh, "/api/impact", port="dp://finance/revenue/totals")
    missing = get(mesh, "/api/impact", port="dp://finance/nothing/totals")
    assert hidden.status_code == missing.status_code == 404
    assert "no product 'finance/revenue' in the mesh index" in hidden.json()["detail"]


def test_the_mesh_page_draws_every_visible_product_and_offers_each_port(mesh: ServedNode) -> None:
    page = get(mesh, "/ui/lineage", token(mesh.home, "finance@example.com"))
    assert page.status_code == 200
    for key in ("sales/shop", "finance/revenue", "exec/board"):
        assert f'aria-label="{key}"' in page.text
    assert '<option value="dp://sales/shop/orders">' in page.text
    assert 'aria-current="page"' in page.text.split('href="/ui/lineage"')[1][:40]


@pytest.mark.parametrize(
    ("port", "status", "says"),
    [
        ("dp://sales/shop", 400, "names a product, not a port"),
        ("dp://sales/shop/nope", 404, "sales/shop has no output port &#39;nope&#39;; its ports are orders"),
        ("dp://sales/shop/ord ers", 400, "is not a data product address"),
    ],
)
def test_a_bad_port_is_explained_on_the_page(mesh: ServedNode, port: str, status: int, says: str) -> None:
    page = get(mesh, "/ui/lineage", port=port)
    assert page.status_code == status
    assert says in page.text and 'aria-invalid="true"' in page.text


@pytest.mark.slow
def test_in_the_browser_an_owner_asks_what_breaks(browser: Any, mesh: ServedNode) -> None:
    finance = token(mesh.home, "finance@example.com")
    context = browser.new_context(base_url=mesh.url, viewport={"width": 390, "height": 800})
    try:
        page = context.new_page()
        page.goto("/ui/sign-in?next=/ui")
        page.get_by_label("Your API token").fill(finance)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/ui")
        page.get_by_role("link", name="Lineage").click()
        page.get_by_label("Output port").fill("dp://sales/shop/orders")
        page.get_by_role("button", name="Show impact").click()
        summary = page.locator("#impact-summary").inner_text()
        assert "affects 2 products and 2 ports" in summary
        rows = page.locator("table.impact tbody tr")
        assert rows.nth(1).inner_text().split("\t")[:2] == ["exec/board", "2"]
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # wide parts scroll in their box
        screenshot(page, "lineage-impact-390")
    finally:
        context.close()
