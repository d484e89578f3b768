"""A person in a real browser (Debian's Chromium via Playwright): search, open, copy, connect."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.server.nodes import free_port
from tests.server.ui.conftest import screenshot
from tests.server.ui.nodes import ThreadNode

pytestmark = pytest.mark.slow


def test_search_open_copy_and_run_the_sql_snippet(page: Any, node: ThreadNode) -> None:
    page.goto("/ui")
    screenshot(page, "home")
    page.get_by_label("Search data products").fill("lisener demographics")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/ui\?q="))
    assert "listener" in page.get_by_role("status").first.inner_text()
    screenshot(page, "search")
    page.get_by_role("link", name=re.compile("listener-demographics")).first.click()
    page.wait_for_url("**/ui/products/podcasts/listener-demographics")
    assert page.get_by_role("heading", level=1).inner_text().replace("\n", "") == "podcasts/listener-demographics"
    screenshot(page, "product")
    panel = page.locator("#panel-daily-sql")
    panel.get_by_role("button", name="Copy").click()
    page.get_by_role("button", name="Copied").wait_for()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == "select * from podcasts.listener_demographics__daily limit 100;"
    dsn = page.locator("#dsn-daily").inner_text()
    assert dsn == node.sql_dsn

    import psycopg

    with psycopg.connect(dsn, autocommit=True) as connection:
        rows = connection.execute(copied).fetchall()
    assert rows and len(rows[0]) == 7


def test_snippet_tabs_work_with_the_keyboard(page: Any) -> None:
    page.goto("/ui/products/podcasts/listener-demographics")
    first = page.get_by_role("tab").first
    first.focus()
    page.keyboard.press("ArrowRight")
    second = page.get_by_role("tab").nth(1)
    assert page.evaluate("document.activeElement.textContent") == second.inner_text()
    assert second.get_attribute("aria-selected") == "true"
    assert page.locator('#ports [role="tabpanel"]:visible').count() == 1


def test_the_first_tab_stop_skips_to_content(page: Any) -> None:
    page.goto("/ui/slo")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    screenshot(page, "slo")


def test_a_search_syntax_error_is_explained(page: Any) -> None:
    page.goto("/ui")
    page.get_by_label("Search data products").fill("doman:podcasts listener")
    page.keyboard.press("Enter")
    alert = page.get_by_role("alert")
    assert "did you mean domain:?" in alert.inner_text()
    assert page.get_by_label("Search data products").get_attribute("aria-invalid") == "true"
    screenshot(page, "search-error")


def test_knowledge_graph_explorer(page: Any) -> None:
    page.goto("/ui/graph")
    page.get_by_label("Concept IRI or schema: name").fill("schema:email")
    page.get_by_role("button", name="Find", exact=True).click()
    assert page.get_by_role("link", name="users/user-profiles").first.is_visible()
    page.get_by_label("From product").select_option("podcasts/play-events")
    page.get_by_label("To product").select_option("users/user-profiles")
    page.get_by_role("button", name="Find join path").click()
    assert "podcasts/play-events/plays#listener_id" in page.locator(".paths").inner_text()
    screenshot(page, "graph")


def test_product_without_docs_and_lineage_drawing(page: Any, node: ThreadNode) -> None:
    page.goto("/ui/products/sales/shop")
    assert "has no documentation yet" in page.locator("#overview").inner_text()
    page.goto("/ui/products/podcasts/top-podcasts-daily")
    nodes = page.locator("svg.lineage a")
    assert nodes.count() >= 3
    nodes.first.focus()
    screenshot(page, "product-lineage")
    closed = f"http://127.0.0.1:{free_port()}"
    assert httpx.post(node.url + "/api/peers", json={"url": closed}, timeout=30).json()["status"] == "unreachable"
    page.goto("/ui/nodes")
    assert "Not answering" in page.locator(".peers").inner_text()
    screenshot(page, "nodes")


@pytest.mark.parametrize("path", ["/ui", "/ui/products/podcasts/play-events", "/ui/graph", "/ui/slo"])
def test_pages_fit_a_phone_390_px_wide(browser: Any, node: ThreadNode, path: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=node.url)
    try:
        phone = context.new_page()
        phone.goto(path)
        wide = phone.evaluate(
            "() => [...document.querySelectorAll('body *')].filter(e => {"
            "  const r = e.getBoundingClientRect(); if (r.width === 0) return false;"
            "  for (let p = e.parentElement; p; p = p.parentElement) {"
            "    const s = getComputedStyle(p); if (s.overflowX === 'auto' || s.overflowX === 'scroll') return false; }"
            "  return r.right > 391; }).slice(0, 5).map(e => e.tagName + '.' + e.className)"
        )
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, wide
        assert wide == []
        nav = phone.get_by_role("navigation").first.bounding_box()
        assert nav is not None and nav["x"] + nav["width"] <= 390
    finally:
        context.close()


def test_the_demo_plays_preview_and_profile_their_ids_exactly(page: Any) -> None:
    # play_id is 20261205000000001 and up: past 2**53, where a float (and Arrow's cast to one) stops
    # being exact. The page once answered 500 for every reader of the demo's plays.
    page.goto("/ui/products/podcasts/play-events")
    page.get_by_role("link", name="Preview & profile the rows").first.click()
    page.wait_for_url("**/ports/plays/preview")
    assert page.locator("table.preview tbody tr").count() == 20
    ids = page.locator('tr.profile-column[data-column="play_id"]')
    low, high = (int(ids.locator("td").nth(i).inner_text()) for i in (3, 4))
    assert low > 2**53 and high > low
    bars = ids.locator(".bar-label").all_inner_texts()
    assert bars[0].startswith(f"{low:,}") and bars[-1].split(":")[0].endswith(f"{high:,}")
    distinct = int(ids.locator("td").nth(2).inner_text().replace(",", ""))  # one per play: play_id is the key
    assert sum(int(bar.rsplit(": ", 1)[1].replace(",", "")) for bar in bars) == distinct
    screenshot(page, "preview-plays")
