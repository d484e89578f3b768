"""Three people in Chromium against ``hexmesh serve --auth``, each journey from its first page.

- An anonymous visitor browses what is public, is asked to sign in when they want data, and sees
  none of it.
- An analyst signs in, asks for access, sees the request pending (on the port and under "My
  products and requests"), and after the owner approves sees what it may read (the masked column
  marked) and reads the port with the connect snippet copied from the page, which states the
  grant's purpose (the redacted column stays empty).
- The owner signs in, approves a request in the browser (no token pasted), reads their own port
  with the page's snippet, and pauses, resumes and runs the product from its page.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hexmesh.lifecycle import Workspace, init_product
from tests.server.ui.conftest import screenshot
from tests.server.ui.nodes import ServedNode, served
from tests.server.ui.test_access import PRIVACY, token

pytestmark = pytest.mark.slow

PRODUCT = "/ui/products/sales/shop"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedNode]:
    root = tmp_path_factory.mktemp("journeys")
    init_product(root / "shop", domain="sales", name="shop", owner="me@example.com")
    spec = root / "shop" / "dataproduct.yaml"
    spec.write_text(spec.read_text().split("\npolicies:")[0] + PRIVACY)
    with Workspace.open(root / "ws") as workspace:
        workspace.deploy([root / "shop"])
        workspace.run("sales/shop")
    with served(root / "ws", "--auth") as node:
        yield node


@pytest.fixture
def person(browser: Any, shop: ServedNode) -> Iterator[Any]:
    """A fresh browser profile (no cookies) for one person."""
    context = browser.new_context(base_url=shop.url, viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=shop.url)
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(page: Any, secret: str, then: str) -> None:
    page.goto(f"/ui/sign-in?next={then}")
    page.get_by_label("Your API token").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{then}")


def copy_snippet(page: Any, port: str, snippet: str) -> str:
    """Open the snippet's tab, press Copy, and return what the clipboard holds."""
    page.get_by_role("tab", name=snippet, exact=True).click()
    page.locator(f"#panel-{port}-{snippet.lower()}").get_by_role("button", name="Copy").click()
    return str(page.evaluate("navigator.clipboard.readText()"))


def run_shell(code: str, secret: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"} | {"HEXMESH_TOKEN": secret}
    return subprocess.run(
        ["sh", "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_anonymous_browses_what_is_public_and_is_asked_to_sign_in_for_data(person: Any, shop: ServedNode) -> None:
    page = person
    page.goto("/ui")
    assert page.get_by_role("button", name="Sign in").or_(page.get_by_role("link", name="Sign in")).first.is_visible()
    page.get_by_role("link", name=re.compile(r"sales.shop")).first.click()
    page.wait_for_url(f"**{PRODUCT}")
    port = page.locator("article.port", has_text="orders")
    assert "One row per order." in port.inner_text()  # public metadata: what there is to ask for
    assert "You may not read this port yet" in port.inner_text()
    assert port.get_by_role("tab").count() == 0  # how to connect is shown to readers only
    screenshot(page, "journey-anonymous-product")
    data = httpx.get(shop.url + "/products/sales/shop/ports/orders/data?format=csv", timeout=60)
    assert data.status_code == 401  # and no data reaches a visitor without a token
    port.get_by_role("link", name="Sign in").click()  # asking for data starts with signing in
    page.wait_for_url(re.compile(r"/ui/sign-in\?next=.*sales.*shop"))
    assert page.get_by_label("Your API token").is_visible()


def test_analyst_asks_sees_it_pending_and_reads_with_a_snippet_after_approval(
    person: Any, shop: ServedNode, tmp_path: Path
) -> None:
    page, analyst, owner = person, token(shop.home, "ann@example.com"), token(shop.home, "me@example.com")
    sign_in(page, analyst, PRODUCT)
    assert "ann@example.com" in page.get_by_role("banner").inner_text()
    port = page.locator("article.port", has_text="orders")
    assert "You may not read this port yet" in port.inner_text()
    form = port.locator("form.access-form")
    assert "Asked as ann@example.com" in form.inner_text()  # signed in: no token to paste
    form.get_by_label("Purpose").fill("churn-model")
    form.get_by_label("Note for the owner").fill("training data for Q3")
    form.get_by_role("button", name="Request access").click()
    status = page.get_by_role("status")
    found = re.search(r"Request ([0-9a-f-]{36}) is pending", status.inner_text())
    assert found, status.inner_text()
    screenshot(page, "journey-analyst-pending")

    page.goto(PRODUCT)  # the port now says where the request stands, and offers no second form
    port = page.locator("article.port", has_text="orders")
    mine = port.locator(".own-request").inner_text()
    assert f"Your request {found.group(1)[:8]} for churn-model is pending" in mine
    assert port.locator("form.access-form").count() == 0
    page.get_by_role("link", name=re.compile("signed in as")).click()  # my products and requests
    page.wait_for_url("**/ui/me")
    mine = page.locator(f'tr.my-request[data-request="{found.group(1)}"]')
    assert "sales/shop" in mine.inner_text() and "pending" in mine.inner_text()

    decided = httpx.post(
        f"{shop.url}/ui/access-requests/{found.group(1)}/decision",
        data={"token": owner, "verdict": "approve", "note": "ok", "duration": "30"},
        timeout=60,
    )
    assert decided.status_code == 200, decided.text

    page.goto(PRODUCT)
    port = page.locator("article.port", has_text="orders")
    assert "you can read this for churn-model" in port.inner_text().lower()
    assert "masked: customer_id" in port.locator(".masked-columns").inner_text()
    assert port.get_by_label(re.compile("Reading for a purpose")).input_value() == "churn-model"
    psql = copy_snippet(page, "orders", "psql")  # states the grant's purpose by itself
    assert "-c \"set hexmesh.purpose = 'churn-model'\"" in psql and "sslmode=require" in psql
    screenshot(page, "journey-analyst-connect")
    done = run_shell(psql, analyst, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "(3 rows)" in done.stdout
    header, *rows = [line for line in done.stdout.splitlines() if "|" in line]
    column = [c.strip() for c in header.split("|")].index("customer_id")
    assert {row.split("|")[column].strip() for row in rows if "-+-" not in row} == {""}  # redacted for ann


def test_owner_approves_in_the_browser_and_reads_their_own_port(person: Any, shop: ServedNode, tmp_path: Path) -> None:
    page, owner = person, token(shop.home, "me@example.com")
    bob = token(shop.home, "bob@example.com")
    asked = httpx.post(
        shop.url + "/ui/products/sales/shop/ports/orders/access-requests",
        data={"purpose": "forecasting", "note": "for the Q4 plan", "token": bob},
        timeout=60,
    )
    assert asked.status_code == 201, asked.text
    sign_in(page, owner, "/ui")
    page.get_by_role("link", name="Access").click()
    card = page.locator("li.request", has_text="bob@example.com")
    assert "for the Q4 plan" in card.inner_text() and "forecasting" in card.inner_text()
    assert page.locator("input[name=token]").count() == 0  # signed in: the page never holds the token
    screenshot(page, "journey-owner-inbox")
    card.get_by_role("button", name="Approve").click()
    assert "bob@example.com for sales/shop/orders: approved" in page.get_by_role("status").inner_text()

    page.goto(PRODUCT)
    assert "you own this" in page.locator("article.port", has_text="orders").inner_text().lower()
    psql = copy_snippet(page, "orders", "psql")
    done = run_shell(psql, owner, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "(3 rows)" in done.stdout

    actions = page.get_by_label("Owner actions")  # the control port, from the browser
    actions.get_by_role("button", name="Pause").click()
    page.get_by_role("status").wait_for()
    page.goto(PRODUCT)
    assert "Paused: the control port refuses runs" in page.locator(".callout-warn", has_text="Paused").inner_text()
    assert actions.get_by_role("button", name="Run now").count() == 0
    actions.get_by_role("button", name="Resume").click()
    page.get_by_role("status").wait_for()
    page.goto(PRODUCT)
    runs = page.locator("table.runs tbody tr").count()
    actions.get_by_role("button", name="Run now").click()
    assert page.get_by_role("status").inner_text()
    page.goto(PRODUCT)
    assert page.locator("table.runs tbody tr").count() == runs + 1
    screenshot(page, "journey-owner-ran")
