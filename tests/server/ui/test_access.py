"""Access requests in the web UI, against ``hexmesh serve --auth``: ask, decide, and every refusal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from hexmesh.cli.main import app
from hexmesh.lifecycle import Workspace, init_product
from tests.server.ui.conftest import screenshot
from tests.server.ui.nodes import ServedNode, ThreadNode, served

PRIVACY = """
policies:
  access:
    - {allow: {anyone: true}, actions: [discover]}   # public metadata: anyone may see what to ask for
  privacy:
    - {field: customer_id, redact: true, exempt: {user: me@example.com}}
"""
ASK = "/ui/products/sales/shop/ports/orders/access-requests"


def token(home: Path, principal: str) -> str:
    result = CliRunner().invoke(app, ["token", "create", principal, "--home", str(home)])
    assert result.exit_code == 0, result.output
    return next(word for word in result.output.split() if word.startswith("hxm_"))


@pytest.fixture(scope="module")
def shop_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("access")
    init_product(root / "shop", domain="sales", name="shop", owner="me@example.com")
    spec = root / "shop" / "dataproduct.yaml"
    spec.write_text(spec.read_text().split("\npolicies:")[0] + PRIVACY)  # ours, whatever the scaffold has
    with Workspace.open(root / "ws") as workspace:
        workspace.deploy([root / "shop"])
        workspace.run("sales/shop")
    return root / "ws"


@pytest.fixture(scope="module")
def auth_node(shop_home: Path) -> Iterator[ServedNode]:
    with served(shop_home, "--auth") as node:
        yield node


def post(node: ServedNode | ThreadNode, path: str, **form: str) -> httpx.Response:
    return httpx.post(node.url + path, data=form, timeout=60)


def alert(page: httpx.Response) -> str:
    found = re.search(r'role="alert"[^>]*>.*?<p>(.*?)</p>', page.text, re.S)
    assert found, page.text
    return found.group(1)


def test_the_product_page_offers_a_labelled_request_form_per_port(auth_node: ServedNode) -> None:
    page = httpx.get(auth_node.url + "/ui/products/sales/shop", timeout=60)
    assert page.status_code == 200
    assert f'action="{ASK}"' in page.text
    for label in ("Purpose", "Note for the owner", "Your API token"):
        assert f">{label}" in page.text
    assert 'name="token" type="password" autocomplete="off"' in page.text


def test_a_consumer_asks_and_sees_the_request_id_and_state(auth_node: ServedNode) -> None:
    consumer = token(auth_node.home, "ann@example.com")
    page = post(auth_node, ASK, purpose="reporting", note="monthly revenue", token=consumer)
    assert page.status_code == 201, page.text
    request_id = re.search(r'class="request-id">([0-9a-f-]{36})<', page.text)
    assert request_id and "is pending" in page.text
    again = post(auth_node, ASK, purpose="reporting", note="", token=consumer)
    assert again.status_code == 409
    assert f"request {request_id.group(1)} is pending" in alert(again)


@pytest.mark.parametrize(
    ("form", "status", "says"),
    [
        ({"purpose": "reporting", "note": "keep me", "token": ""}, 401, "paste your API token"),
        ({"purpose": "reporting", "note": "keep me", "token": "hxm_forged_token"}, 401, "the token is not valid"),
        ({"purpose": " ", "note": "keep me", "token": "hxm_forged_token"}, 400, "say what the data will be used for"),
    ],
)
def test_a_bad_request_is_explained_and_the_form_keeps_what_was_typed(
    auth_node: ServedNode, form: dict[str, str], status: int, says: str
) -> None:
    page = post(auth_node, ASK, **form)
    assert page.status_code == status
    assert says in alert(page)
    assert "Nothing was sent to the owner" in page.text
    assert ">keep me</textarea>" in page.text  # the note survives
    assert "hxm_forged_token" not in page.text  # the token is never echoed


def test_an_unknown_port_or_product_is_a_404_naming_what_exists(auth_node: ServedNode) -> None:
    owner = token(auth_node.home, "me@example.com")
    port = post(auth_node, "/ui/products/sales/shop/ports/nope/access-requests", purpose="x", token=owner)
    assert port.status_code == 404
    assert alert(port) == "sales/shop has no output port &#39;nope&#39;; its ports are orders"
    product = post(auth_node, "/ui/products/sales/nope/ports/orders/access-requests", purpose="x", token=owner)
    assert product.status_code == 404 and "no product &#39;sales/nope&#39;" in alert(product)


def test_someone_who_can_already_read_is_told_so(auth_node: ServedNode) -> None:
    owner = token(auth_node.home, "me@example.com")
    page = post(auth_node, ASK, purpose="reporting", token=owner)
    assert page.status_code == 409
    assert "me@example.com can already read sales/shop/orders" in alert(page)


def test_a_form_posted_from_another_site_is_refused(auth_node: ServedNode) -> None:
    consumer = token(auth_node.home, "eve@example.com")
    page = httpx.post(
        auth_node.url + ASK,
        data={"purpose": "x", "token": consumer},
        headers={"Origin": "https://evil.example"},
        timeout=60,
    )
    assert page.status_code == 403 and "not from this node" in alert(page)


def test_the_owner_approves_and_denials_need_a_note(auth_node: ServedNode) -> None:
    owner = token(auth_node.home, "me@example.com")
    bob = token(auth_node.home, "bob@example.com")
    post(auth_node, ASK, purpose="forecasting", note="for Q3", token=bob)
    listed = post(auth_node, "/ui/access-requests", token=owner)
    assert listed.status_code == 200 and listed.headers["cache-control"] == "no-store"
    request_id = re.search(r"/ui/access-requests/([0-9a-f-]{36})/decision", listed.text.split("bob@example.com")[1])
    assert request_id and "for Q3" in listed.text
    decide = f"/ui/access-requests/{request_id.group(1)}/decision"

    assert "No pending requests" in post(auth_node, "/ui/access-requests", token=bob).text  # not an owner
    refused = post(auth_node, decide, token=bob, verdict="approve", note="", duration="30")
    assert refused.status_code == 403 and "only its owners can" in alert(refused)
    denied = post(auth_node, decide, token=owner, verdict="deny", note="", duration="30")
    assert denied.status_code == 422 and "note" in alert(denied)
    too_long = post(auth_node, decide, token=owner, verdict="approve", note="ok", duration="400")
    assert too_long.status_code == 400 and "1 to 366 days" in alert(too_long)
    assert ">ok</textarea>" in too_long.text  # the owner's note survives the error

    approved = post(auth_node, decide, token=owner, verdict="approve", note="ok", duration="30")
    assert approved.status_code == 200
    assert f"request {request_id.group(1)} by bob@example.com for sales/shop/orders: approved" in approved.text
    twice = post(auth_node, decide, token=owner, verdict="approve", note="ok", duration="30")
    assert twice.status_code == 422 and "already approved" in alert(twice)
    granted = post(auth_node, ASK, purpose="forecasting", token=bob)
    assert granted.status_code == 409 and "bob@example.com can already read" in alert(granted)
    read = httpx.get(
        auth_node.url + "/products/sales/shop/ports/orders/data",
        params={"purpose": "forecasting"},
        headers={"Authorization": f"Bearer {bob}"},
        timeout=60,
    )
    assert read.status_code == 200, read.text


def test_the_inbox_without_a_valid_token_says_what_to_do(auth_node: ServedNode) -> None:
    assert "Show my pending requests" in httpx.get(auth_node.url + "/ui/access-requests", timeout=60).text
    empty = post(auth_node, "/ui/access-requests", token="")
    assert empty.status_code == 401 and "paste your API token" in alert(empty)
    forged = post(auth_node, "/ui/access-requests", token="hxm_forged_token")
    assert forged.status_code == 401 and "not valid" in alert(forged)


def test_without_auth_there_is_nothing_to_request(node: ThreadNode) -> None:
    page = httpx.get(node.url + "/ui/products/podcasts/play-events", timeout=60)
    assert "everyone may read this port, no request is needed" in page.text
    asked = post(node, "/ui/products/podcasts/play-events/ports/plays/access-requests", purpose="x", token="t")
    assert asked.status_code == 409 and "serves with --no-auth" in alert(asked)
    assert "there are no requests to decide" in httpx.get(node.url + "/ui/access-requests", timeout=60).text


@pytest.mark.slow
def test_in_the_browser_a_consumer_asks_the_owner_approves_and_psql_reads(browser: Any, auth_node: ServedNode) -> None:
    import psycopg

    consumer, owner = token(auth_node.home, "carol@example.com"), token(auth_node.home, "me@example.com")
    dsn = f"postgresql://carol@127.0.0.1:{auth_node.sql_port}/hexmesh?sslmode=require"
    with psycopg.connect(dsn, password=consumer, autocommit=True) as connection:
        connection.execute("set hexmesh.purpose = 'churn-model'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="access request"):
            connection.execute("select count(*) from sales.shop__orders").fetchall()

    asking = browser.new_context(base_url=auth_node.url)
    page = asking.new_page()
    page.goto("/ui/products/sales/shop")
    form = page.locator("form.access-form")
    form.get_by_label("Purpose").fill("churn-model")
    form.get_by_label("Note for the owner").fill("training data for Q3")
    form.get_by_label("Your API token").fill(consumer)
    form.get_by_role("button", name="Request access").click()
    status = page.get_by_role("status")
    status.wait_for()
    assert re.search(r"Request [0-9a-f-]{36} is pending", status.inner_text())
    screenshot(page, "access-requested")
    page.goto("/ui/products/sales/shop")  # the token was kept for this tab, not typed again
    assert page.locator("form.access-form").get_by_label("Your API token").input_value() == consumer
    asking.close()

    deciding = browser.new_context(base_url=auth_node.url)
    page = deciding.new_page()
    page.goto("/ui")
    page.get_by_role("link", name="Access").click()
    page.get_by_label("Your API token").fill(owner)
    page.get_by_role("button", name="Show my pending requests").click()
    card = page.locator("li.request", has_text="carol@example.com")
    assert "training data for Q3" in card.inner_text()
    screenshot(page, "access-inbox")
    card.get_by_label(re.compile("Note to carol")).fill("approved for the churn model")
    card.get_by_role("button", name="Approve").click()
    assert "carol@example.com for sales/shop/orders: approved" in page.get_by_role("status").inner_text()
    deciding.close()

    with psycopg.connect(dsn, password=consumer, autocommit=True) as connection:
        connection.execute("set hexmesh.purpose = 'churn-model'")
        assert connection.execute("select count(*) from sales.shop__orders").fetchone() == (3,)


def test_in_the_browser_a_signed_in_owner_approves_without_pasting_a_token(browser: Any, auth_node: ServedNode) -> None:
    consumer, owner = token(auth_node.home, "dave@example.com"), token(auth_node.home, "me@example.com")
    asked = post(auth_node, ASK, purpose="forecasting", note="for the Q4 plan", token=consumer)
    assert asked.status_code == 201, asked.text
    context = browser.new_context(base_url=auth_node.url)
    try:
        page = context.new_page()
        page.goto("/ui/sign-in?next=/ui/access-requests")
        page.get_by_label("Your API token").fill(owner)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/ui/access-requests")
        card = page.locator("li.request", has_text="dave@example.com")
        assert "for the Q4 plan" in card.inner_text()
        assert page.locator("input[name=token]").count() == 0  # the page never holds the token
        card.get_by_role("button", name="Approve").click()
        assert "dave@example.com for sales/shop/orders: approved" in page.get_by_role("status").inner_text()
    finally:
        context.close()


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("who", ["me@example.com", "player-team@example.com"])  # the demo's owners are long
def test_signed_in_the_sign_out_button_is_on_screen(browser: Any, auth_node: ServedNode, width: int, who: str) -> None:
    owner = token(auth_node.home, who)
    context = browser.new_context(base_url=auth_node.url, viewport={"width": width, "height": 800})
    try:
        page = context.new_page()
        page.goto("/ui/sign-in?next=/ui")
        page.get_by_label("Your API token").fill(owner)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/ui")
        for path in ("/ui", "/ui/products/sales/shop"):  # the home page has no search box in its top bar
            page.goto(path)
            box = page.get_by_role("button", name=re.compile("Sign out")).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, path
            assert page.evaluate("document.documentElement.scrollWidth") <= width, path
    finally:
        context.close()
