"""Discovery and observability with policies enforced: each caller learns only what a policy lets it.

The product makes its metadata public except ``amount`` (anyone may discover the rest), lets
analysts read every row without ``amount``, and lets a regional reader see placed orders only.
Nobody but the owner may learn ``amount``'s name or anything about its values (5.00, 19.90, 42.50),
nor may a row-filtered reader learn how many rows it does not see.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import httpx
import pytest
from typer.testing import CliRunner

from hexmesh.cli.main import app
from tests.cli.test_serve import client, serving, token, with_policies

POLICIES = """
policies:
  access:
    - {id: public, allow: {anyone: true}, actions: [discover], columns: {exclude: [amount]}}
    - {id: analysts, allow: {group: analysts}, columns: {exclude: [amount]}}
    - {id: placed-only, allow: {group: regional}, columns: {exclude: [amount]}, rows: {status: placed}}
  privacy:
    - {field: customer_id, pseudonymize: {scope: domain}}
"""
#: What a document or a health report would carry about ``amount``: its values, min, max and mean.
AMOUNTS = (5.0, 19.9, 42.5, (5.0 + 19.9 + 42.5) / 3)


def _spec(text: str) -> str:
    # The orders are from January: a one-hour timeliness promise is breached at once. (The scaffold's
    # quality checks include one on amount: its results must not name it to anyone but the owner.)
    slo = "      freshness: 1d\n"
    return with_policies(POLICIES)(text).replace(slo, slo + "      timeliness: 1h\n")


@pytest.fixture
def node(tmp_path: Path) -> Iterator[tuple[httpx.Client, Path]]:
    with client(tmp_path, spec=_spec) as http:
        yield http, tmp_path / "ws"


def member(home: Path, principal: str, group: str) -> dict[str, str]:
    result = CliRunner().invoke(app, ["token", "create", principal, "--group", group, "--home", str(home), "-q"])
    assert result.exit_code == 0, result.output
    return {"Authorization": f"Bearer {result.output.strip()}"}


def _numbers(body: object) -> Iterator[float]:
    if isinstance(body, dict):
        for value in body.values():
            yield from _numbers(value)
    elif isinstance(body, list):
        for value in body:
            yield from _numbers(value)
    elif isinstance(body, int | float) and not isinstance(body, bool):
        yield float(body)
    elif isinstance(body, str):  # numbers inside text (details, decimals as strings), not inside timestamps
        yield from (float(n) for n in re.findall(r"(?<![\d:.T-])\d+\.\d+(?![\d:])", body))


def _says_nothing_of_amount(body: object) -> None:
    """Neither the hidden column's name nor any of its values or statistics (times and counts may be anything)."""
    assert "amount" not in json.dumps(body), json.dumps(body)[:2000]
    leaked = [n for n in _numbers(body) if any(abs(n - v) < 1e-9 for v in AMOUNTS)]
    assert not leaked, f"{leaked} leaked: {json.dumps(body)[:2000]}"


def test_anonymous_callers_see_the_public_metadata_and_nothing_else(node: tuple[httpx.Client, Path]) -> None:
    client, _ = node
    catalog = client.get("/").json()
    assert [s["dct:identifier"] for s in catalog["dcat:service"]] == ["dp://sales/shop"]
    document = client.get("/products/sales/shop")
    assert document.status_code == 200, document.text
    [dataset] = document.json()["dcat:servesDataset"]
    assert [f["hexmesh:name"] for f in dataset["hexmesh:schema"]] == ["order_id", "customer_id", "ordered_at", "status"]
    _says_nothing_of_amount(document.json())
    # No settings of the source, no access rules, no raw storage location.
    [source] = document.json()["hexmesh:lineage"]["hexmesh:inputPorts"]
    assert source["hexmesh:source"] == {"format": "csv"}
    assert document.json()["hexmesh:access"]["hexmesh:policies"] == []
    assert "Apache Iceberg table" not in json.dumps(dataset["dcat:distribution"])
    health = client.get("/products/sales/shop/observability").json()
    [port] = health["ports"]
    assert port["shape"] == {} and port["drift"] == {}  # discovering is not reading: no statistics
    assert all(h["rows"] is None for h in port["history"])
    assert next(c for c in port["checks"] if c["name"] == "volume")["actual"] is None
    _says_nothing_of_amount(health)
    assert client.get("/products/sales/shop/ports/orders/data?format=csv").status_code == 401


def test_an_analyst_sees_statistics_of_the_columns_it_reads_in_clear(node: tuple[httpx.Client, Path]) -> None:
    client, home = node
    analyst = member(home, "ann@example.com", "analysts")
    health = client.get("/products/sales/shop/observability", headers=analyst).json()
    [port] = health["ports"]
    assert set(port["shape"]) == {"order_id", "ordered_at", "status"}  # customer_id is a pseudonym: none
    assert port["history"][-1]["rows"] == 3
    _says_nothing_of_amount(health)
    _says_nothing_of_amount(client.get("/products/sales/shop", headers=analyst).json())


def test_a_row_filtered_reader_learns_no_count_of_the_rows_it_cannot_see(node: tuple[httpx.Client, Path]) -> None:
    client, home = node
    regional = member(home, "rita@example.com", "regional")
    rows = client.get("/products/sales/shop/ports/orders/data?format=jsonl", headers=regional)
    assert rows.status_code == 200 and rows.text.count("\n") == 2  # the two placed orders
    health = client.get("/products/sales/shop/observability", headers=regional).json()
    [port] = health["ports"]
    assert port["shape"] == {} and all(h["rows"] is None for h in port["history"])
    volume = next(c for c in port["checks"] if c["name"] == "volume")
    assert volume["actual"] is None and "3" not in volume["detail"]
    for counted in ("completeness", "drift"):  # their details are counts and column statistics
        check = next(c for c in port["checks"] if c["name"] == counted)
        assert check["actual"] is None and check["detail"] == "shown to readers of every row"
    document = client.get("/products/sales/shop", headers=regional).json()
    checks = document["dcat:servesDataset"][0]["hexmesh:sloStatus"]["hexmesh:checks"]
    assert "3 rows" not in json.dumps(checks)


def test_the_owner_sees_everything(node: tuple[httpx.Client, Path]) -> None:
    client, home = node
    owner = {"Authorization": f"Bearer {token(home, 'me@example.com')}"}
    [port] = client.get("/products/sales/shop/observability", headers=owner).json()["ports"]
    assert port["shape"]["amount"]["max"] == 42.5 and port["history"][-1]["rows"] == 3
    with pytest.raises(AssertionError, match="amount"):  # the check the others pass does catch it
        _says_nothing_of_amount(port)
    with pytest.raises(AssertionError, match=r"\[(5\.0|19\.9|42\.5|22\.4)"):
        _says_nothing_of_amount({"shape": {"x": port["shape"]["amount"]}})
    whole = client.get("/products/sales/shop", headers=owner)
    document = whole.json()
    assert "amount" in [f["hexmesh:name"] for f in document["dcat:servesDataset"][0]["hexmesh:schema"]]
    # The owner's document is the cached one: it revalidates (304); a shaped one carries no ETag.
    assert whole.headers["vary"] == "Authorization"
    again = client.get("/products/sales/shop", headers={**owner, "If-None-Match": whole.headers["etag"]})
    assert again.status_code == 304
    assert "etag" not in client.get("/products/sales/shop").headers
    assert document["hexmesh:access"]["hexmesh:policies"]
    assert "amount" in json.dumps(document["hexmesh:quality"])  # the check the others must not see


def test_a_product_without_public_metadata_is_a_401_for_anonymous_callers(tmp_path: Path) -> None:
    with serving(tmp_path) as (http_port, _):
        base = f"http://127.0.0.1:{http_port}"
        assert httpx.get(base + "/", timeout=10).json()["dcat:service"] == []
        for path in ("/products/sales/shop", "/products/sales/shop/observability"):
            refused = httpx.get(base + path, timeout=10)
            assert refused.status_code == 401 and "is not public" in refused.json()["detail"]
        someone = {"Authorization": f"Bearer {token(tmp_path / 'ws', 'someone@example.com')}"}
        # Signed in, anyone may learn that the product exists and what to ask for: port names, no columns.
        document = httpx.get(base + "/products/sales/shop", headers=someone, timeout=10).json()
        assert document["dct:identifier"] == "dp://sales/shop"
        [stub] = document["dcat:servesDataset"]
        assert stub["dct:title"] == "orders" and stub["hexmesh:access"] == "request" and "hexmesh:schema" not in stub
        assert "customer_id" not in json.dumps(document)
        assert httpx.get(base + "/products/sales/shop/observability", headers=someone, timeout=10).json()["ports"] == []


def _breaches(client: httpx.Client, headers: dict[str, str]) -> list[dict[str, object]]:
    for _ in range(100):  # the emitter checks SLOs shortly after the node starts
        response = client.get("/products/sales/shop/events", params={"follow": "false"}, headers=headers)
        assert response.status_code == 200, response.text
        found = [json.loads(line[len("data: ") :]) for line in response.text.splitlines() if line.startswith("data: ")]
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("no SLO breach event was emitted")


def test_snapshots_and_slo_breaches_count_rows_only_for_readers_of_every_row(node: tuple[httpx.Client, Path]) -> None:
    client, home = node
    owner = {"Authorization": f"Bearer {token(home, 'me@example.com')}"}
    regional = member(home, "rita@example.com", "regional")
    listing = client.get("/products/sales/shop/ports/orders/snapshots", headers=owner).json()
    assert listing[-1]["rows"] == 3 and listing[-1]["size_bytes"] > 0
    for headers in ({}, regional):
        shown = client.get("/products/sales/shop/ports/orders/snapshots", headers=headers)
        assert shown.status_code == 200, shown.text
        assert [s["snapshot_id"] for s in shown.json()] == [s["snapshot_id"] for s in listing]
        assert {s["rows"] for s in shown.json()} == {None} and {s["size_bytes"] for s in shown.json()} == {None}
    owned = _breaches(client, owner)
    assert [cast(dict[str, object], e["data"])["slo"] for e in owned] == ["timeliness"]
    for headers in ({}, regional):
        seen = _breaches(client, headers)
        assert [e["id"] for e in seen] == [e["id"] for e in owned]
        _says_nothing_of_amount(seen)


def test_consumer_offsets_belong_to_their_reader(node: tuple[httpx.Client, Path]) -> None:
    client, home = node
    analyst = member(home, "ann@example.com", "analysts")
    other = member(home, "otto@example.com", "analysts")
    offsets = "/products/sales/shop/ports/orders/events/consumers/nightly"
    sent = _event_ids(client, analyst)  # a reader who does not control the product gets opaque ids
    assert len(sent) >= 2 and all(i.startswith("t_") for i in sent)
    assert client.put(offsets, params={"offset": sent[1]}, headers=analyst).json()["offset"] == sent[1]
    assert client.get(offsets, headers=analyst).json()["offset"] == sent[1]
    assert client.get(offsets, headers=other).json()["offset"] is None  # the same name, another reader's: none yet
    assert client.put(offsets, params={"offset": 2}, headers=analyst).status_code == 400  # positions stay opaque
    assert client.put(offsets, params={"offset": sent[0]}).status_code == 401  # nobody rewinds it anonymously
    stranger = {"Authorization": f"Bearer {token(home, 'eve@example.com')}"}
    assert client.put(offsets, params={"offset": sent[0]}, headers=stranger).status_code == 403
    assert client.get(offsets, headers=analyst).json()["offset"] == sent[1]


def _event_ids(client: httpx.Client, headers: dict[str, str]) -> list[str]:
    """The SSE ids a caller is sent for the orders port's events."""
    events = "/products/sales/shop/ports/orders/events"
    with client.stream("GET", events, params={"follow": False}, headers=headers) as response:
        assert response.status_code == 200, response.read()
        return [line[4:] for line in response.iter_lines() if line.startswith("id: ")]


def test_metrics_need_a_token_and_show_the_products_it_runs(node: tuple[httpx.Client, Path]) -> None:
    client, home = node
    assert client.get("/metrics").status_code == 401
    analyst = client.get("/metrics", headers=member(home, "ann@example.com", "analysts"))
    assert analyst.status_code == 200 and "sales/shop" not in analyst.text  # a reader, not a runner
    owner = client.get("/metrics", headers={"Authorization": f"Bearer {token(home, 'me@example.com')}"})
    assert 'hexmesh_port_snapshots{port="orders",product="sales/shop"}' in owner.text
