"""Signing in to the web UI, and a mesh shown as the caller may see it (``hexmesh serve --auth``).

The node serves two products: ``sales/shop``, whose metadata is public except the column
``customer_id``, and ``finance/ledger``, which reads the shop and which only its owner may
discover in full. Anonymous visitors must find no trace of the ledger, of its column
``ledger_margin_secret`` or of ``customer_id`` on any page or mesh API answer.
"""

from __future__ import annotations

import re
import time
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

SHOP_POLICIES = """
policies:
  access:
    # Anyone may see what the shop serves, except who the customers are.
    - {allow: {anyone: true}, actions: [discover], columns: {exclude: [customer_id]}}
    # The ledger reads the orders (its input port reads them as its product's principal).
    - {id: ledger-reads, allow: {product: finance/ledger}, ports: [orders]}
  privacy:
    - {field: customer_id, pseudonymize: {scope: domain}}
"""
LEDGER = """\
domain: finance
name: ledger
version: 0.1.0
owner: cfo@example.com
description: Margin of every order, for the finance team.
inputPorts:
  - {name: shop_orders, from: "dp://sales/shop/orders", window: all}
transformation:
  sql: transform.sql
outputPorts:
  - name: entries
    description: One row per order.
    primaryKey: [order_id]
    properties:
      - {name: order_id, logicalType: integer, required: true, classification: internal,
         links: ["dp://sales/shop/orders#order_id"]}
      - {name: ledger_margin_secret, logicalType: decimal, precision: 12, scale: 2, classification: confidential,
         concept: "https://schema.org/price"}
"""
#: Nothing of these may reach an anonymous visitor.
HIDDEN = ("ledger", "finance", "customer_id", "cfo@example.com")
PUBLIC_PAGES = [
    "/ui",
    "/ui?q=orders",
    "/ui?q=margin",
    "/ui?q=customer",
    "/ui/products/sales/shop",
    "/ui/graph",
    "/ui/graph?concept=schema:price",
    "/ui/graph?from=sales/shop&to=sales/shop",
    "/ui/slo",
    "/ui/nodes",
    "/ui/access-requests",
    "/ui/sign-in",
]
PUBLIC_API = [
    "/api/registry",
    "/api/search?q=orders",
    "/api/search?q=margin",
    "/api/graph/concepts",
    "/api/graph/concepts?concept=schema:price",
    "/api/graph.ttl",
    "/api/graph.jsonld",
    "/api/lineage/sales/shop",
    "/api/lineage/sales/shop/columns",
]


def token(home: Path, principal: str, *options: str) -> str:
    result = CliRunner().invoke(app, ["token", "create", principal, "--home", str(home), *options])
    assert result.exit_code == 0, result.output
    return next(word for word in result.output.split() if word.startswith("hxm_"))


@pytest.fixture(scope="module")
def mesh_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("signin")
    init_product(root / "shop", domain="sales", name="shop", owner="me@example.com")
    spec = root / "shop" / "dataproduct.yaml"
    text = spec.read_text().split("\npolicies:")[0] + SHOP_POLICIES
    # The shop's key links to the ledger's: anonymous visitors must not see that edge.
    linked = text.replace(
        "description: Order number,", 'description: Order number, links: ["dp://finance/ledger/entries#order_id"],'
    )
    assert linked != text, "the scaffold's order_id line changed: link it another way"
    spec.write_text(linked)
    (root / "ledger").mkdir()
    (root / "ledger" / "dataproduct.yaml").write_text(LEDGER)
    (root / "ledger" / "transform.sql").write_text(
        "select order_id, cast(amount * 0.3 as decimal(12, 2)) as ledger_margin_secret from shop_orders\n"
    )
    with Workspace.open(root / "ws") as workspace:
        workspace.deploy([root / "shop", root / "ledger"])
        workspace.run("sales/shop")
    return root / "ws"


@pytest.fixture(scope="module")
def auth_node(mesh_home: Path) -> Iterator[ServedNode]:
    with served(mesh_home, "--auth") as node:
        yield node


def get(node: ServedNode | ThreadNode, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(node.url + path, timeout=60, **kwargs)


def signed_in(node: ServedNode, secret: str, next_page: str = "/ui") -> httpx.Cookies:
    answer = httpx.post(
        node.url + "/ui/sign-in", data={"token": secret, "next": next_page}, headers={"Origin": node.url}, timeout=60
    )
    assert answer.status_code == 303, answer.text
    return answer.cookies


def alert(page: httpx.Response) -> str:
    found = re.search(r'role="alert"[^>]*>.*?<p>(.*?)</p>', page.text, re.S)
    assert found, page.text
    return found.group(1)


# -- what anonymous visitors see --------------------------------------------------------------------


@pytest.mark.parametrize("path", PUBLIC_PAGES + PUBLIC_API)
def test_anonymous_visitors_find_no_trace_of_what_is_hidden(auth_node: ServedNode, path: str) -> None:
    answer = get(auth_node, path)
    assert answer.status_code == 200, answer.text
    for word in HIDDEN:
        assert word not in answer.text, f"{path} shows {word!r} to an anonymous visitor"


def test_anonymous_visitors_see_the_public_product_and_its_public_columns(auth_node: ServedNode) -> None:
    home = get(auth_node, "/ui")
    assert "1 data product across 1 domain" in home.text and 'href="/ui/products/sales/shop"' in home.text
    assert 'href="/ui/sign-in?next=/ui"' in home.text  # the header offers to sign in
    page = get(auth_node, "/ui/products/sales/shop")
    for column in ("order_id", "ordered_at", "status", "amount"):
        assert f"<code>{column}</code>" in page.text
    assert [p["key"] for p in get(auth_node, "/api/registry").json()["products"]] == ["sales/shop"]
    fields = get(auth_node, "/api/registry").json()["products"][0]["ports"][0]["fields"]
    assert [f["name"] for f in fields] == ["order_id", "ordered_at", "status", "amount"]
    assert fields[0]["links"] == []  # the link to the ledger's column is cut


def test_a_hidden_product_is_as_unknown_as_a_missing_one(auth_node: ServedNode) -> None:
    page = get(auth_node, "/ui/products/finance/ledger")
    missing = get(auth_node, "/ui/products/finance/nope")
    assert page.status_code == missing.status_code == 404
    assert alert(page) == "no product &#39;finance/ledger&#39; in the mesh index; known: sales/shop"
    for path in (
        "/api/lineage/finance/ledger",
        "/api/lineage/finance/ledger/columns",
        "/api/graph/join?from=sales/shop&to=finance/ledger",
    ):
        answer = get(auth_node, path)
        assert answer.status_code == 404 and "known: sales/shop" in answer.json()["detail"]


def test_with_nothing_public_pages_say_so_and_point_to_sign_in(tmp_path: Path) -> None:
    init_product(tmp_path / "shop", domain="sales", name="shop", owner="me@example.com")
    with Workspace.open(tmp_path / "ws") as workspace:
        workspace.deploy([tmp_path / "shop"])
    with served(tmp_path / "ws", "--auth") as node:
        for path in ("/ui", "/ui/graph", "/ui/slo", "/ui/nodes"):
            page = get(node, path)
            assert page.status_code == 200
            assert "is public" in page.text and f'href="/ui/sign-in?next={path}"' in page.text.replace("%2F", "/")
            assert "sales/shop" not in page.text


# -- signing in ------------------------------------------------------------------------------------


def test_the_sign_in_form_is_labelled_and_says_how_to_get_a_token(auth_node: ServedNode) -> None:
    page = get(auth_node, "/ui/sign-in", params={"next": "/ui/products/sales/shop"})
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert '<label for="sign-in-token">Your API token</label>' in page.text
    assert 'name="token" type="password"' in page.text
    assert "hexmesh token create &lt;your id&gt;" in page.text
    assert 'name="next" value="/ui/products/sales/shop"' in page.text


def test_signing_in_sets_a_strict_cookie_and_goes_back(auth_node: ServedNode) -> None:
    secret = token(auth_node.home, "bob@example.com", "--ttl", "1h")
    answer = httpx.post(
        auth_node.url + "/ui/sign-in",
        data={"token": secret, "next": "/ui/products/sales/shop"},
        headers={"Origin": auth_node.url},
        timeout=60,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/products/sales/shop"
    cookie = answer.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")}
    assert cookie.startswith(f"hexmesh_token={secret};")
    assert "httponly" in attributes and attributes["samesite"].lower() == "samesite=strict"
    assert attributes["path"] == "Path=/"
    assert 3500 <= int(attributes["max-age"].split("=")[1]) <= 3600  # never longer than the token's hour
    assert "secure" not in attributes  # plain http here; https sets it


def test_behind_an_https_proxy_the_cookie_is_secure(auth_node: ServedNode) -> None:
    # uvicorn trusts X-Forwarded-Proto from this machine, as from a TLS-terminating proxy in front of it.
    https = auth_node.url.replace("http://", "https://")
    answer = httpx.post(
        auth_node.url + "/ui/sign-in",
        data={"token": token(auth_node.home, "dan@example.com")},
        headers={"Origin": https, "X-Forwarded-Proto": "https"},
        timeout=60,
    )
    assert answer.status_code == 303, answer.text
    assert "; Secure" in answer.headers["set-cookie"]


def test_a_token_without_expiry_signs_in_for_twelve_hours_at_most(auth_node: ServedNode) -> None:
    answer = httpx.post(
        auth_node.url + "/ui/sign-in",
        data={"token": token(auth_node.home, "dan@example.com")},
        headers={"Origin": auth_node.url},
        timeout=60,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/ui"
    assert "Max-Age=43200" in answer.headers["set-cookie"]


def test_signed_in_callers_see_more(auth_node: ServedNode) -> None:
    bob = signed_in(auth_node, token(auth_node.home, "bob@example.com"))
    home = get(auth_node, "/ui", cookies=bob)
    assert "signed in as <strong>bob@example.com</strong>" in home.text
    assert 'href="/ui/products/finance/ledger"' in home.text  # anyone signed in may see it exists, to ask
    assert "no-store" in home.headers["cache-control"]
    ledger = get(auth_node, "/ui/products/finance/ledger", cookies=bob)
    assert ledger.status_code == 200 and "ledger_margin_secret" not in ledger.text
    # Bob may ask for the port: he sees its name and the form, not its columns nor how to connect.
    assert "You may not read this port yet: ask its owner for access below" in ledger.text
    assert 'action="/ui/products/finance/ledger/ports/entries/access-requests"' in ledger.text

    cfo = signed_in(auth_node, token(auth_node.home, "cfo@example.com"))
    ledger = get(auth_node, "/ui/products/finance/ledger", cookies=cfo)
    assert "<code>ledger_margin_secret</code>" in ledger.text
    shop = get(auth_node, "/ui/products/sales/shop", cookies=cfo)
    assert "finance/ledger/entries#order_id" in shop.text  # the link, now that the cfo may see its target
    assert "<code>customer_id</code>" not in shop.text  # the cfo does not own the shop
    assert "ledger" in get(auth_node, "/api/search", params={"q": "margin"}, cookies=cfo).text
    owner = signed_in(auth_node, token(auth_node.home, "me@example.com"))
    assert "<code>customer_id</code>" in get(auth_node, "/ui/products/sales/shop", cookies=owner).text


def test_the_mesh_api_takes_a_bearer_token_too(auth_node: ServedNode) -> None:
    cfo = {"Authorization": f"Bearer {token(auth_node.home, 'cfo@example.com')}"}
    keys = [p["key"] for p in get(auth_node, "/api/registry", headers=cfo).json()["products"]]
    assert keys == ["finance/ledger", "sales/shop"]
    concepts = get(auth_node, "/api/graph/concepts", params={"concept": "schema:price"}, headers=cfo).json()
    assert [u["product"] for u in concepts["products"]] == ["finance/ledger"]
    forged = get(auth_node, "/api/registry", headers={"Authorization": "Bearer hxm_forged_token"})
    assert forged.status_code == 401


@pytest.mark.parametrize("secret", ["", "hxm_forged_token"])
def test_a_bad_token_is_a_401_page_and_sets_no_cookie(auth_node: ServedNode, secret: str) -> None:
    answer = httpx.post(
        auth_node.url + "/ui/sign-in",
        data={"token": secret, "next": "/ui/slo"},
        headers={"Origin": auth_node.url},
        timeout=60,
    )
    assert answer.status_code == 401 and "set-cookie" not in answer.headers
    assert ("paste your API token" if not secret else "the token is not valid") in alert(answer)
    assert 'name="next" value="/ui/slo"' in answer.text and "hxm_forged" not in answer.text


def test_a_revoked_token_cannot_sign_in(auth_node: ServedNode) -> None:
    secret = token(auth_node.home, "gus@example.com")
    token_id = secret.removeprefix("hxm_").split("_")[0]
    revoked = CliRunner().invoke(app, ["token", "revoke", token_id, "--home", str(auth_node.home)])
    assert revoked.exit_code == 0, revoked.output
    answer = httpx.post(
        auth_node.url + "/ui/sign-in", data={"token": secret}, headers={"Origin": auth_node.url}, timeout=60
    )
    assert answer.status_code == 401 and "set-cookie" not in answer.headers
    assert f"token {token_id} was revoked" in alert(answer)


@pytest.mark.parametrize(
    "target", ["https://evil.example", "//evil.example/ui", "/\\evil.example", "/uievil", "javascript:alert(1)"]
)
def test_signing_in_never_sends_the_browser_to_another_site(auth_node: ServedNode, target: str) -> None:
    form = get(auth_node, "/ui/sign-in", params={"next": target})
    assert 'name="next" value="/ui"' in form.text and "is not a page of this web UI" in form.text
    answer = httpx.post(
        auth_node.url + "/ui/sign-in",
        data={"token": token(auth_node.home, "eve@example.com"), "next": target},
        headers={"Origin": auth_node.url},
        timeout=60,
    )
    assert answer.status_code == 400 and "set-cookie" not in answer.headers and "location" not in answer.headers
    assert "only paths starting with /ui are followed" in alert(answer)


def test_a_sign_in_posted_from_another_site_is_refused(auth_node: ServedNode) -> None:
    answer = httpx.post(
        auth_node.url + "/ui/sign-in",
        data={"token": token(auth_node.home, "eve@example.com")},
        headers={"Origin": "https://evil.example"},
        timeout=60,
    )
    assert answer.status_code == 403 and "set-cookie" not in answer.headers


def test_signing_out_clears_the_cookie(auth_node: ServedNode) -> None:
    bob = signed_in(auth_node, token(auth_node.home, "bob@example.com"))
    assert 'action="/ui/sign-out"' in get(auth_node, "/ui", cookies=bob).text
    answer = httpx.post(auth_node.url + "/ui/sign-out", cookies=bob, headers={"Origin": auth_node.url}, timeout=60)
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/sign-in?out=true"
    assert re.match(r'hexmesh_token="?"?; .*Max-Age=0', answer.headers["set-cookie"])
    assert "You are signed out" in get(auth_node, answer.headers["location"]).text


def test_a_sign_out_posted_from_another_site_is_refused(auth_node: ServedNode) -> None:
    bob = signed_in(auth_node, token(auth_node.home, "bob@example.com"))
    answer = httpx.post(
        auth_node.url + "/ui/sign-out", cookies=bob, headers={"Origin": "https://evil.example"}, timeout=60
    )
    assert answer.status_code == 403 and "set-cookie" not in answer.headers


def test_mesh_api_answers_vary_with_the_caller(auth_node: ServedNode) -> None:
    assert get(auth_node, "/api/registry").headers["vary"] == "Authorization, Cookie"


def test_a_revoked_tokens_cookie_degrades_to_anonymous(auth_node: ServedNode) -> None:
    secret = token(auth_node.home, "cfo@example.com")
    cfo = signed_in(auth_node, secret)
    assert "ledger" in get(auth_node, "/ui", cookies=cfo).text
    token_id = secret.removeprefix("hxm_").split("_")[0]
    revoked = CliRunner().invoke(app, ["token", "revoke", token_id, "--home", str(auth_node.home)])
    assert revoked.exit_code == 0, revoked.output
    page = get(auth_node, "/ui", cookies=cfo)
    assert page.status_code == 200
    assert f"You were signed out: token {token_id} was revoked" in page.text
    assert "ledger" not in page.text.replace(f"token {token_id}", "")  # shown as to anyone
    assert re.match(r'hexmesh_token="?"?; .*Max-Age=0', page.headers["set-cookie"])
    assert get(auth_node, "/api/registry", cookies=cfo).json()["products"][0]["key"] == "sales/shop"


# -- the access forms with a sign-in ----------------------------------------------------------------

ASK = "/ui/products/sales/shop/ports/orders/access-requests"


def test_signed_in_the_request_form_needs_no_token(auth_node: ServedNode) -> None:
    ann = signed_in(auth_node, token(auth_node.home, "ann@example.com"))
    page = get(auth_node, "/ui/products/sales/shop", cookies=ann)
    assert "Asked as <strong>ann@example.com</strong>" in page.text and 'name="token"' not in page.text
    asked = httpx.post(
        auth_node.url + ASK, data={"purpose": "reporting"}, cookies=ann, headers={"Origin": auth_node.url}, timeout=60
    )
    assert asked.status_code == 201, asked.text
    assert "is pending" in asked.text


def test_the_cookie_never_acts_for_a_post_from_another_site(auth_node: ServedNode) -> None:
    ann = signed_in(auth_node, token(auth_node.home, "ann@example.com"))
    forged = httpx.post(
        auth_node.url + ASK,
        data={"purpose": "exfiltration"},
        cookies=ann,
        headers={"Origin": "https://evil.example"},
        timeout=60,
    )
    assert forged.status_code == 403 and "not from this node" in alert(forged)
    unproven = httpx.post(auth_node.url + ASK, data={"purpose": "exfiltration"}, cookies=ann, timeout=60)
    assert unproven.status_code == 401 and "paste your API token" in alert(unproven)  # no Origin: no cookie


def test_signed_in_owners_decide_without_pasting_their_token(auth_node: ServedNode) -> None:
    httpx.post(
        auth_node.url + ASK,
        data={"purpose": "forecasting", "token": token(auth_node.home, "fay@example.com")},
        timeout=60,
    )
    owner_secret = token(auth_node.home, "me@example.com")
    owner = signed_in(auth_node, owner_secret)
    inbox = get(auth_node, "/ui/access-requests", cookies=owner)
    assert inbox.status_code == 200 and "fay@example.com" in inbox.text
    assert owner_secret not in inbox.text  # the page never holds the token
    request_id = re.search(r"/ui/access-requests/([0-9a-f-]{36})/decision", inbox.text.split("fay@example.com")[1])
    assert request_id
    decided = httpx.post(
        auth_node.url + f"/ui/access-requests/{request_id.group(1)}/decision",
        data={"verdict": "approve", "duration": "30", "note": "ok"},
        cookies=owner,
        headers={"Origin": auth_node.url},
        timeout=60,
    )
    assert decided.status_code == 200 and "fay@example.com for sales/shop/orders: approved" in decided.text


# -- without --auth ---------------------------------------------------------------------------------


def test_without_auth_there_is_nothing_to_sign_in_to(node: ThreadNode) -> None:
    page = get(node, "/ui/sign-in")
    assert "there is nothing to sign in to" in page.text and 'name="token"' not in page.text
    answer = httpx.post(node.url + "/ui/sign-in", data={"token": "hxm_x_y"}, timeout=60)
    assert answer.status_code == 409 and "set-cookie" not in answer.headers
    home = get(node, "/ui")
    assert "Sign in" not in home.text and "signed in as" not in home.text
    registry = get(node, "/api/registry").json()["products"]
    assert f"{len(registry)} data products" in home.text


# -- in a browser -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_in_the_browser_sign_in_see_the_columns_and_sign_out(browser: Any, auth_node: ServedNode) -> None:
    secret = token(auth_node.home, "cfo@example.com")
    context = browser.new_context(base_url=auth_node.url)
    page = context.new_page()
    page.goto("/ui")
    screenshot(page, "signed-out-home")
    page.goto("/ui/products/sales/shop")
    assert "ledger" not in page.content()
    page.get_by_role("banner").get_by_role("link", name="Sign in").click()
    page.get_by_label("Your API token").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/ui/products/sales/shop")
    assert "signed in as cfo@example.com" in page.locator(".whoami").inner_text()
    cookie = next(c for c in context.cookies() if c["name"] == "hexmesh_token")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # scripts cannot read it
    page.goto("/ui/products/finance/ledger")
    schema = page.locator("table.schema").inner_text()
    assert "ledger_margin_secret" in schema and "order_id" in schema
    screenshot(page, "signed-in-product")
    page.get_by_role("button", name="Sign out").click()
    page.get_by_text("You are signed out").wait_for()
    assert not [c for c in context.cookies() if c["name"] == "hexmesh_token"]
    page.goto("/ui/products/finance/ledger")
    assert "Product not found" in page.content()
    context.close()


# -- peers' products ----------------------------------------------------------------------------------


def test_peers_products_stay_as_their_node_disclosed_them(tmp_path: Path, mesh_home: Path) -> None:
    init_product(tmp_path / "contacts", domain="crm", name="contacts", owner="crm@example.com")
    spec = tmp_path / "contacts" / "dataproduct.yaml"
    # The peer's key links to this node's hidden ledger: the link is cut, the rest is the peer's to show.
    spec.write_text(
        spec.read_text().replace(
            "description: Order number}", 'description: Order number, links: ["dp://finance/ledger/entries#order_id"]}'
        )
    )
    with Workspace.open(tmp_path / "peer") as workspace:
        workspace.deploy([tmp_path / "contacts"])
    with (
        served(tmp_path / "peer", "--no-auth") as peer,
        served(mesh_home, "--auth", env={"HEXMESH_PEERS": peer.url, "HEXMESH_MESH_REFRESH": "0.5"}) as node,
    ):
        for _ in range(120):
            products = get(node, "/api/registry").json()["products"]
            if any(p["key"] == "crm/contacts" for p in products):
                break
            time.sleep(0.5)
        contacts = next(p for p in products if p["key"] == "crm/contacts")
        fields = {f["name"]: f for f in contacts["ports"][0]["fields"]}
        assert "customer_id" in fields  # the peer shows it to anyone: this node does not second-guess it
        assert fields["order_id"]["links"] == []
        page = get(node, "/ui/products/crm/contacts")
        assert page.status_code == 200 and "<code>customer_id</code>" in page.text
        assert "ledger" not in page.text


def test_hexmesh_search_through_a_node_sees_what_its_token_may(auth_node: ServedNode) -> None:
    import json
    import subprocess

    from tests.server.nodes import HEXMESH

    def search(env: dict[str, str]) -> list[str]:
        done = subprocess.run(
            [HEXMESH, "search", "margin", "--node", auth_node.url, "--json"],
            capture_output=True,
            text=True,
            env={"COLUMNS": "200", "PATH": "", **env},
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return [hit["key"] for hit in json.loads(done.stdout)["hits"]]

    assert "finance/ledger" not in search({})  # anonymously: what anyone may see
    assert "finance/ledger" in search({"HEXMESH_TOKEN": token(auth_node.home, "cfo@example.com")})
