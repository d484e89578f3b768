"""The UI as a workspace: each viewer sees where they stand with each port, their own requests and
products, their own shaped rows and profile, the runs and the transformation as far as they may see.

One node with ``--auth`` and two products: sales/shop (private; ana reads it without ``amount`` and
with ``customer_id`` pseudonymized; me@example.com owns it) and sales/open (anyone reads it).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from markupsafe import escape

from hexmesh.errors import HexmeshError
from hexmesh.lifecycle import Workspace, init_product
from tests.server.ui.conftest import screenshot
from tests.server.ui.nodes import ServedNode, served
from tests.server.ui.test_access import token

SHOP = """
policies:
  access:
    - {allow: {anyone: true}, actions: [discover], columns: {exclude: [amount]}}
    - {allow: {user: ana@example.com}, columns: {exclude: [amount]}}
    - {allow: {user: agg@example.com}, actions: [readAggregate]}
    - {allow: {user: agg2@example.com}, actions: [readAggregate]}
  privacy:
    - {field: customer_id, pseudonymize: {scope: domain}}
"""
CANARY = "canary-7f3e-in-an-error"
OPEN = """
policies:
  access:
    - {allow: {anyone: true}, actions: [read]}
  privacy:
    - {field: customer_id, pseudonymize: {scope: domain}}
"""


def _product(root: Path, name: str, owner: str, policies: str) -> Path:
    folder = root / name
    init_product(folder, domain="sales", name=name, owner=owner)
    spec = folder / "dataproduct.yaml"
    spec.write_text(spec.read_text().split("\npolicies:")[0] + policies)
    return folder


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("workspace")
    with Workspace.open(root / "ws") as workspace:
        shop, public = _product(root, "shop", "me@example.com", SHOP), _product(root, "open", "os@example.com", OPEN)
        workspace.deploy([shop, public])
        workspace.run("sales/shop")
        workspace.run("sales/open")
        # A run that fails with an error quoting a value: its owner sees why, nobody else.
        broken = _product(root, "broken", "me@example.com", SHOP)
        (broken / "transform.sql").write_text(f"select cast('{CANARY}' as integer) as order_id from raw_orders\n")
        workspace.deploy([broken])
        with contextlib.suppress(HexmeshError):
            workspace.run("sales/broken")
    return root / "ws"


@pytest.fixture(scope="module")
def node(home: Path) -> Iterator[ServedNode]:
    with served(home, "--auth") as running:
        yield running


def get(node: ServedNode, path: str, who: str | None = None) -> httpx.Response:
    cookies = {"hexmesh_token": token(node.home, who)} if who else {}
    return httpx.get(node.url + path, cookies=cookies, timeout=60)


def standing(page: httpx.Response, port: str) -> str:
    found = re.search(rf'id="standing-{port}" data-standing="(\w+)">(.*?)<!-- /standing -->', page.text, re.S)
    assert found, page.text
    return f"{found.group(1)}: {_text(found.group(2))}"


def test_the_owner_is_told_it_owns_the_port_and_gets_no_request_form(node: ServedNode) -> None:
    page = get(node, "/ui/products/sales/shop", "me@example.com")
    assert page.status_code == 200
    said = standing(page, "orders")
    assert said.startswith("owner: You own this")
    assert "Request access" not in said and 'class="access-form"' not in page.text


def test_a_reader_is_told_it_can_read_and_which_columns_are_masked(node: ServedNode) -> None:
    page = get(node, "/ui/products/sales/shop", "ana@example.com")
    said = standing(page, "orders")
    assert said.startswith("reader: You can read this")
    assert "masked: customer_id" in said
    assert "amount" not in said  # hidden from ana: not even named
    assert 'class="access-form"' not in page.text


def test_a_public_port_says_public_to_anyone(node: ServedNode) -> None:
    for who in (None, "bob@example.com"):
        page = get(node, "/ui/products/sales/open", who)
        said = standing(page, "orders")
        assert said.startswith("public: Public Anyone may read this port.")
        assert "masked: customer_id" in said
        assert 'class="access-form"' not in page.text


def test_someone_who_may_not_read_asks_and_then_sees_the_state_of_their_request(node: ServedNode) -> None:
    before = get(node, "/ui/products/sales/shop", "carl@example.com")
    assert standing(before, "orders").startswith("request: Request access")
    carl = token(node.home, "carl@example.com")
    asked = httpx.post(
        node.url + "/ui/products/sales/shop/ports/orders/access-requests",
        data={"purpose": "churn study", "token": carl},
        timeout=60,
    )
    assert asked.status_code == 201, asked.text
    after = httpx.get(node.url + "/ui/products/sales/shop", cookies={"hexmesh_token": carl}, timeout=60)
    said = standing(after, "orders")
    assert said.startswith("request: Your request") and "churn study" in said and "pending" in said
    assert 'class="access-form"' not in after.text  # no second form while one is pending


def runs(page: httpx.Response) -> list[list[str]]:
    body = re.search(r'<table class="runs">.*?<tbody>(.*?)</tbody>', page.text, re.S)
    assert body, page.text
    rows = re.findall(r"<tr class=\"run[^\"]*\">(.*?)</tr>", body.group(1), re.S)
    return [[_text(cell) for cell in re.findall(r"<td>(.*?)</td>", row, re.S)] for row in rows]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_runs_show_when_how_long_and_rows_to_who_may_count_them(node: ServedNode) -> None:
    [owner_run] = runs(get(node, "/ui/products/sales/shop", "me@example.com"))
    started, took, rows, status, _ = owner_run
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", started)
    assert re.fullmatch(r"(\d+(\.\d+)?[dhms] ?)+", took)
    assert int(rows.replace(",", "")) > 0 and status == "succeeded"
    [stranger_run] = runs(get(node, "/ui/products/sales/shop", "dan@example.com"))
    assert stranger_run[0] == started and stranger_run[2] == "—"  # no count of rows dan may not read


def test_the_sql_is_shown_to_the_owner_not_to_a_reader_with_hidden_columns(node: ServedNode) -> None:
    sql = (node.home.parent / "shop" / "transform.sql").read_text().strip().splitlines()[0]
    owner = get(node, "/ui/products/sales/shop", "me@example.com")
    assert '<figure class="transformation">' in owner.text and str(escape(sql)) in owner.text
    reader = get(node, "/ui/products/sales/shop", "ana@example.com")
    assert '<figure class="transformation">' not in reader.text
    assert "Shown to its owners and to readers who see every column in clear" in reader.text


def test_my_page_lists_my_products_and_my_requests_with_their_state(node: ServedNode) -> None:
    owner = get(node, "/ui/me", "os@example.com")
    products = re.search(r'<ul class="my-products">(.*?)</ul>', owner.text, re.S)
    assert products and "sales/open" in products.group(1) and "sales/shop" not in products.group(1)
    erin = token(node.home, "erin@example.com")
    asked = httpx.post(
        node.url + "/ui/products/sales/shop/ports/orders/access-requests",
        data={"purpose": "fraud checks", "token": erin},
        timeout=60,
    )
    assert asked.status_code == 201, asked.text
    mine = httpx.get(node.url + "/ui/me", cookies={"hexmesh_token": erin}, timeout=60)
    [row] = re.findall(r'<tr class="my-request"[^>]*>(.*?)</tr>', mine.text, re.S)
    assert _text(row).split() == ["sales/shop/orders", "fraud", "checks", *_text(row).split()[3:6], "pending"]
    assert "You own no product on this node." in mine.text
    me = get(node, "/ui/products/sales/shop", "me@example.com")
    assert '<a class="whoami-name" href="/ui/me"' in me.text
    pending = re.search(r'<ul class="my-products">(.*?)</ul>', get(node, "/ui/me", "me@example.com").text, re.S)
    assert pending and re.search(r"\d+ pending request", pending.group(1))


def test_my_page_asks_an_anonymous_visitor_to_sign_in(node: ServedNode) -> None:
    page = get(node, "/ui/me")
    assert page.status_code == 200
    assert '<a href="/ui/sign-in?next=/ui/me">Sign in</a>' in page.text
    assert "my-request" not in page.text and "my-products" not in page.text


def profile(page: httpx.Response) -> dict[str, list[str]]:
    rows = re.findall(r'<tr class="profile-column" data-column="([^"]+)">(.*?)</tr>', page.text, re.S)
    return {name: [_text(c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", body, re.S)] for name, body in rows}


def test_a_reader_previews_its_own_shaped_rows_and_profile(node: ServedNode, home: Path) -> None:
    page = get(node, "/ui/products/sales/shop/ports/orders/preview", "ana@example.com")
    assert page.status_code == 200, page.text
    header = re.search(r'<table class="preview">.*?<thead>(.*?)</thead>', page.text, re.S)
    assert header and _text(header.group(1)).split() == ["order_id", "customer_id", "ordered_at", "status"]
    columns = profile(page)
    assert set(columns) == {"order_id", "customer_id", "ordered_at", "status"}  # amount is hidden from ana
    raw = (home.parent / "shop" / "data").glob("*.csv")
    customers = {line.split(",")[1] for f in raw for line in f.read_text().splitlines()[1:]}
    assert customers and not any(f"<td>{c}</td>" in page.text for c in customers)  # pseudonyms, never the ids
    _, kind, nulls, distinct, low, high, histogram = columns["order_id"]
    assert kind == "int64"
    assert int(nulls) == 0 and int(distinct) > 0 and int(low.replace(",", "")) <= int(high.replace(",", ""))
    assert histogram == "1: 1 2: 1 3: 1"  # one bar per value of a small integer range, with its count
    assert "all your rows" in page.text


def test_the_owner_previews_every_column_in_clear(node: ServedNode, home: Path) -> None:
    page = get(node, "/ui/products/sales/shop/ports/orders/preview", "me@example.com")
    assert page.status_code == 200 and "amount" in profile(page)
    first = (home.parent / "shop" / "data").glob("*.csv").__next__().read_text().splitlines()[1]
    assert f"<td>{first.split(',')[1]}</td>" in page.text  # the owner's customer ids are the real ones


def test_a_preview_is_refused_to_who_may_not_read_and_public_to_anyone(node: ServedNode) -> None:
    refused = get(node, "/ui/products/sales/shop/ports/orders/preview", "fay@example.com")
    assert refused.status_code == 403 and '<table class="preview">' not in refused.text
    assert "access request" in refused.text.lower()
    anonymous = get(node, "/ui/products/sales/shop/ports/orders/preview")
    assert anonymous.status_code == 403 and '<table class="preview">' not in anonymous.text
    assert 'href="/ui/sign-in?next=/ui/products/sales/shop/ports/orders/preview"' in anonymous.text
    # Each refusal points at the way in on the web, not only at the CLI: the port's request form,
    # and for an anonymous visitor a sign-in button in the page itself (not only in the top bar).
    for page in (refused, anonymous):
        assert 'href="/ui/products/sales/shop#standing-orders"' in page.text
    assert anonymous.text.count('href="/ui/sign-in?next=') == 2 and "/ui/sign-in" not in refused.text
    public = get(node, "/ui/products/sales/open/ports/orders/preview")
    assert public.status_code == 200 and "customer_id" in profile(public)
    missing = get(node, "/ui/products/sales/open/ports/nope/preview")
    assert missing.status_code == 404 and "orders" in missing.text


def test_an_aggregate_only_viewer_gets_a_private_profile_charged_to_its_budget(node: ServedNode) -> None:
    import psycopg

    path = "/ui/products/sales/shop/ports/orders/preview"
    product = get(node, "/ui/products/sales/shop", "agg@example.com").text
    assert f'href="{path}"' in product and "A private profile (noisy counts)" in product
    secret = token(node.home, "agg@example.com")
    dsn = f"postgresql://agg@127.0.0.1:{node.sql_port}/hexmesh?sslmode=require"
    with psycopg.connect(dsn, password=secret, autocommit=True) as sql:
        sql.execute("select count(*) from sales.shop__orders").fetchall()  # ε 0.1 of the same budget
    offered = get(node, path, "agg@example.com")
    assert offered.status_code == 200 and '<table class="preview">' not in offered.text
    # Four columns are open to its aggregates (customer_id is pseudonymized): five noisy counts of ε 0.1.
    cost = r"costs ε <strong>0\.5</strong> of your budget on this port\s*\(ε <strong>0\.9</strong> left\)"
    assert re.search(cost, offered.text), offered.text
    assert "<code>customer_id</code>" not in offered.text
    assert "ε <strong>0.9</strong> left" in get(node, path, "agg@example.com").text  # looking spends nothing

    def ask(origin: str | None) -> httpx.Response:
        headers = {"Origin": origin} if origin else {}
        cookies = {"hexmesh_token": secret}
        return httpx.post(f"{node.url}{path}", data={"token": ""}, cookies=cookies, headers=headers, timeout=60)

    assert ask(None).status_code == 401 and ask("https://evil.example").status_code == 403
    first = ask(node.url)
    assert first.status_code == 200, first.text
    shown = r'<tr class="private-(?:rows|nulls)"[^>]*><th scope="row">(.*?)</th><td>(-?[\d,]+)</td>'
    counts = dict(re.findall(shown, first.text))
    assert list(counts) == [
        "rows",
        *(f"nulls in <code>{c}</code>" for c in ("order_id", "ordered_at", "status", "amount")),
    ]
    assert all(int(v.replace(",", "")) >= 0 for v in counts.values())
    for exact in ("Distinct", "Min", "Max", "Histogram", "histogram"):
        assert exact not in first.text.split("<table")[1]
    assert "ε 0.4 of your budget is left" in first.text
    spent = ask(node.url)  # 0.5 is more than the 0.4 left: refused before any number is charged
    assert spent.status_code == 429 and "privacy budget of" in spent.text and "is spent" in spent.text
    assert "ε <strong>0.4</strong> left" in get(node, path, "agg@example.com").text
    owner = {"Authorization": f"Bearer {token(node.home, 'me@example.com')}"}
    log = httpx.get(f"{node.url}/products/sales/shop/control/audit", headers=owner, timeout=60).json()
    asked = [e for e in log if e["actor"] == "User:agg@example.com" and "private_profile" in e["details"]]
    assert [e["details"]["epsilon"] for e in asked] == [0.5, 0.5]
    assert asked[-1]["details"]["private_profile"] == "refused"
    readers = get(node, path, "ana@example.com")  # a reader of rows keeps its exact profile, and no offer
    assert '<table class="preview">' in readers.text and "private profile" not in readers.text


def act(node: ServedNode, action: str, who: str, origin: str | None, **fields: str) -> httpx.Response:
    headers = {"Origin": origin} if origin else {}
    return httpx.post(
        f"{node.url}/ui/products/sales/open/control/{action}",
        data={"token": "", **fields},  # as the page posts it: the sign-in cookie acts
        cookies={"hexmesh_token": token(node.home, who)},
        headers=headers,
        timeout=120,
    )


def test_the_signed_in_owner_runs_pauses_and_resumes_from_the_page(node: ServedNode) -> None:
    page = get(node, "/ui/products/sales/open", "os@example.com")
    assert 'action="/ui/products/sales/open/control/run"' in page.text
    assert 'action="/ui/products/sales/open/control/pause"' in page.text
    before = len(runs(page))
    ran = act(node, "run", "os@example.com", node.url)
    assert ran.status_code == 200 and re.search(r"Run [0-9a-f]{8} of sales/open: \w+", ran.text), ran.text
    assert len(runs(get(node, "/ui/products/sales/open", "os@example.com"))) == before + 1
    paused = act(node, "pause", "os@example.com", node.url)
    assert paused.status_code == 200 and "sales/open is paused" in paused.text
    page = get(node, "/ui/products/sales/open", "os@example.com")
    assert "Paused: the control port refuses runs" in page.text
    assert 'control/run"' not in page.text and 'action="/ui/products/sales/open/control/resume"' in page.text
    refused = act(node, "run", "os@example.com", node.url)
    assert refused.status_code == 409 and "is paused; resume it first" in refused.text
    assert 'control/backfill"' not in page.text  # no backfill form while paused, and none accepted
    held = act(node, "backfill", "os@example.com", node.url, since="2026-01-01", until="2026-01-02")
    assert held.status_code == 409 and "is paused; resume it first" in held.text
    resumed = act(node, "resume", "os@example.com", node.url)
    assert resumed.status_code == 200 and "runs are accepted again" in resumed.text


def test_the_signed_in_owner_backfills_a_window_from_the_page(node: ServedNode) -> None:
    page = get(node, "/ui/products/sales/open", "os@example.com")
    backfill = r'<form method="post" action="/ui/products/sales/open/control/backfill".*?</form>'
    form = re.search(backfill, page.text, re.S)
    assert form and 'type="date" name="since"' in form[0] and 'type="date" name="until"' in form[0]
    assert "orders" in form[0]  # the ports whose event-time window it recomputes
    assert 'control/backfill"' not in get(node, "/ui/products/sales/open", "ana@example.com").text
    done = act(node, "backfill", "os@example.com", node.url, since="2026-01-01", until="2026-01-02")
    assert done.status_code == 200, done.text
    assert re.search(r"Backfill of \[2026-01-01, 2026-01-02\): run [0-9a-f]{8} of sales/open: succeeded", done.text)
    assert runs(get(node, "/ui/products/sales/open", "os@example.com"))[0][4].startswith("backfill")
    backwards = act(node, "backfill", "os@example.com", node.url, since="2026-01-02", until="2026-01-01")
    assert backwards.status_code == 400 and "must be before until" in backwards.text
    garbled = act(node, "backfill", "os@example.com", node.url, since="01/02/2026", until="2026-01-03")
    assert garbled.status_code == 400 and "since must be a day as YYYY-MM-DD" in garbled.text
    stranger = act(node, "backfill", "ana@example.com", node.url, since="2026-01-01", until="2026-01-02")
    assert stranger.status_code == 403


def test_owner_actions_are_refused_to_others_and_to_other_sites(node: ServedNode) -> None:
    assert 'control/run"' not in get(node, "/ui/products/sales/open", "ana@example.com").text
    other = act(node, "pause", "ana@example.com", node.url)
    assert other.status_code == 403
    forged = act(node, "pause", "os@example.com", "https://evil.example")
    assert forged.status_code == 403 and "not from this node" in forged.text
    no_origin = act(node, "pause", "os@example.com", None)  # the cookie acts only on this node's own posts
    assert no_origin.status_code == 401
    page = get(node, "/ui/products/sales/open", "os@example.com")
    assert "Paused: the control port refuses runs" not in page.text


def _signed_in_page(browser: Any, node: ServedNode, who: str, path: str, width: int = 1280) -> tuple[Any, Any]:
    context = browser.new_context(base_url=node.url, viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"/ui/sign-in?next={path}")
    page.get_by_label("Your API token").fill(token(node.home, who))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{path}")
    return context, page


def test_in_the_browser_an_analyst_sees_what_it_reads_and_previews_it(browser: Any, node: ServedNode) -> None:
    context, page = _signed_in_page(browser, node, "ana@example.com", "/ui/products/sales/shop", width=390)
    try:
        box = page.locator("#standing-orders")
        said = box.inner_text()
        assert "you can read this" in said.lower() and "masked: customer_id" in said
        box.get_by_role("link", name="Preview & profile your rows").click()
        page.wait_for_url("**/ports/orders/preview")
        headers = [h.lower() for h in page.locator("table.preview thead th").all_inner_texts()]  # CSS upper-cases them
        assert headers == ["order_id", "customer_id", "ordered_at", "status"]
        assert page.locator("table.profile tr.profile-column").count() == 4
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # tables scroll inside their wrap
        screenshot(page, "workspace-preview-390")
    finally:
        context.close()


def test_in_the_browser_an_aggregate_only_reader_asks_for_a_private_profile(browser: Any, node: ServedNode) -> None:
    path = "/ui/products/sales/shop/ports/orders/preview"
    context, page = _signed_in_page(browser, node, "agg2@example.com", path, width=390)
    try:
        assert page.locator("table.preview").count() == 0
        page.get_by_role("button", name="Spend ε 0.5 on a private profile").click()
        page.wait_for_selector("table.private-profile")
        assert page.locator("table.private-profile tr.private-nulls").count() == 4
        assert "ε 0.5 of your budget is left" in page.locator("table.private-profile caption").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()


def test_in_the_browser_the_owner_runs_its_product_and_sees_its_requests(browser: Any, node: ServedNode) -> None:
    context, page = _signed_in_page(browser, node, "me@example.com", "/ui/products/sales/shop")
    try:
        assert "you own this" in page.locator("#standing-orders").inner_text().lower()
        assert page.locator("#standing-orders form.access-form").count() == 0
        page.get_by_role("button", name="Run now").click()
        assert re.search(r"Run [0-9a-f]{8} of sales/shop: \w+", page.get_by_role("status").inner_text())
        page.goto("/ui/products/sales/shop")
        backfill = page.locator("form.backfill-form")
        backfill.get_by_label("From (inclusive)").fill("2026-01-01")
        backfill.get_by_label("Until (exclusive)").fill("2026-01-02")
        backfill.get_by_role("button", name="Backfill").click()
        said = page.get_by_role("status").inner_text()
        assert re.search(r"Backfill of \[2026-01-01, 2026-01-02\): run [0-9a-f]{8} of sales/shop: succeeded", said)
        page.get_by_role("link", name=re.compile("signed in as")).click()
        page.wait_for_url("**/ui/me")
        assert "sales/shop" in page.locator("ul.my-products").inner_text()
        screenshot(page, "workspace-me")
    finally:
        context.close()


def test_a_failed_runs_error_is_shown_to_its_owner_only(node: ServedNode) -> None:
    [owner_run] = runs(get(node, "/ui/products/sales/broken", "me@example.com"))
    assert owner_run[3].startswith("failed") and CANARY in owner_run[3]
    for who in ("ana@example.com", None):
        page = get(node, "/ui/products/sales/broken", who)
        [run] = runs(page)
        assert run[3] == "failed its owners see why"
        assert CANARY not in page.text


def _ask_and_decide(node: ServedNode, who: str, purpose: str, verdict: str, note: str) -> None:
    asked = httpx.post(
        node.url + "/ui/products/sales/shop/ports/orders/access-requests",
        data={"purpose": purpose, "token": token(node.home, who)},
        timeout=60,
    )
    found = re.search(r'class="request-id">([0-9a-f-]{36})<', asked.text)
    assert asked.status_code == 201 and found, asked.text
    decided = httpx.post(
        f"{node.url}/ui/access-requests/{found.group(1)}/decision",
        data={"token": token(node.home, "me@example.com"), "verdict": verdict, "note": note, "duration": "30"},
        timeout=60,
    )
    assert decided.status_code == 200, decided.text


def test_a_denied_requester_sees_why_and_may_ask_again(node: ServedNode) -> None:
    _ask_and_decide(node, "gil@example.com", "ad targeting", "deny", "not for advertising")
    said = standing(get(node, "/ui/products/sales/shop", "gil@example.com"), "orders")
    assert said.startswith("request: Your request") and "denied : not for advertising" in said
    assert "Request access" in said  # the form is back


def test_an_approved_requester_reads_under_its_purpose(node: ServedNode) -> None:
    _ask_and_decide(node, "hal@example.com", "quarterly report", "approve", "")
    page = get(node, "/ui/products/sales/shop", "hal@example.com")
    said = standing(page, "orders")
    assert said.startswith("reader: You can read this for quarterly report (your approved request)")
    preview = get(node, "/ui/products/sales/shop/ports/orders/preview", "hal@example.com")
    assert preview.status_code == 200 and '<table class="preview">' in preview.text  # read under the grant's purpose
