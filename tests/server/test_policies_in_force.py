"""Policies replaced over the control port hold on every port from the next request, are versioned,
audited and rolled back; ``GET`` shows exactly what is enforced (it answered 500 before any replacement)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hexmesh
from hexmesh.errors import HexmeshError
from tests.cli.test_serve import bearer, serving, token
from tests.server.test_shaped_reads import analyst_token

CONTROL = "/products/sales/shop/control"
PORT = "/products/sales/shop/ports/orders"
#: The scaffold's privacy rule stays (a personal field needs one); analysts are let in without `amount`.
GRANTED = {
    "access": [{"id": "analysts", "allow": {"group": "analysts"}, "columns": {"exclude": ["amount"]}}],
    "privacy": [{"field": "customer_id", "pseudonymize": {"scope": "domain"}}],
}


def _sees(url: str, sql_port: int, analyst: str) -> dict[str, object]:
    """What the analyst gets on every port: files, SQL, events, discovery and the client."""
    seen: dict[str, object] = {}
    with httpx.Client(base_url=url, headers=bearer(analyst), timeout=30) as http:
        files = http.get(f"{PORT}/data")
        seen["files"] = pq.read_table(pa.BufferReader(files.content)).column_names if files.is_success else 403
        events = http.get(f"{PORT}/events", params={"follow": "false", "start": "beginning"})
        seen["events"] = "customer_id" in events.text if events.is_success else events.status_code
        datasets = http.get("/products/sales/shop").json()["dcat:servesDataset"]
        seen["discovery"] = [f["hexmesh:name"] for d in datasets for f in d.get("hexmesh:schema", [])]
    dsn = f"postgresql://ann@127.0.0.1:{sql_port}/hexmesh?sslmode=require"
    try:
        with psycopg.connect(dsn, password=analyst) as conn:
            seen["sql"] = [c.name for c in conn.execute("select * from sales.shop__orders").description or []]
    except psycopg.errors.InsufficientPrivilege:
        seen["sql"] = 403
    try:
        with hexmesh.connect(url, token=analyst) as client:
            seen["client"] = client.product("sales/shop").port("orders").read().column_names
    except HexmeshError:
        seen["client"] = 403
    return seen


REFUSED = {"files": 403, "events": 403, "discovery": [], "sql": 403, "client": 403}
COLUMNS = ["order_id", "customer_id", "ordered_at", "status"]


def test_a_replacement_holds_on_every_port_at_once_and_a_rollback_too(tmp_path: Path) -> None:
    with serving(tmp_path, "--auth") as (http_port, sql_port):
        url, home = f"http://127.0.0.1:{http_port}", tmp_path / "ws"
        owner, analyst = bearer(token(home, "me@example.com")), analyst_token(home)
        with httpx.Client(base_url=url, timeout=30) as http:
            shown = http.get(f"{CONTROL}/policies", headers=owner)
            assert shown.status_code == 200, shown.text  # no replacement yet: the spec's, not a 500
            assert shown.json()["source"] == "spec" and shown.json()["revision"] == 0
            assert shown.json()["privacy"] == GRANTED["privacy"] and shown.json()["access"] == []
            assert _sees(url, sql_port, analyst) == REFUSED

            put = http.put(f"{CONTROL}/policies", headers=owner, json=GRANTED)
            assert put.status_code == 200, put.text
            assert (put.json()["source"], put.json()["revision"]) == ("control", 1)
            for _ in range(50):  # the emitter appends the rows shortly after the node starts
                if _sees(url, sql_port, analyst)["events"] is True:
                    break
                time.sleep(0.2)
            assert _sees(url, sql_port, analyst) == {
                "files": COLUMNS,
                "events": True,
                "discovery": COLUMNS,
                "sql": COLUMNS,
                "client": COLUMNS,
            }
            enforced = http.get(f"{CONTROL}/policies", headers=owner).json()
            assert enforced["access"][0]["columns"] == {"exclude": ["amount"]} and enforced["revision"] == 1

            back = http.post(f"{CONTROL}/policies/rollback", headers=owner, json={"revision": 0})
            assert back.status_code == 200 and (back.json()["source"], back.json()["revision"]) == ("spec", 2)
            assert _sees(url, sql_port, analyst) == REFUSED
            again = http.post(f"{CONTROL}/policies/rollback", headers=owner, json={"revision": 1})
            assert (again.json()["source"], again.json()["revision"]) == ("control", 3)
            assert _sees(url, sql_port, analyst)["sql"] == COLUMNS

            history = http.get(f"{CONTROL}/policies/revisions", headers=owner).json()
            log = http.get(f"{CONTROL}/audit", headers=owner, params={"limit": 1000}).json()
    assert [(r["revision"], r["action"], r["actor"]) for r in history] == [
        (1, "replace", "User:me@example.com"),
        (2, "rollback", "User:me@example.com"),
        (3, "rollback", "User:me@example.com"),
    ]
    assert history[1]["policies"] is None and history[2]["policies"] == history[0]["policies"]
    changes = [(e["action"], e["decision"], e["details"].get("detail", {}).get("revision")) for e in log]
    assert ("control.replace-policies", "ok", 1) in changes and ("control.rollback-policies", "ok", 2) in changes


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"access": [{"allow": {"group": "x"}, "ports": ["nope"]}], "privacy": []}, "unknown port(s) nope"),
        ({"access": [{"allow": {}}], "privacy": []}, "exactly one of user, group"),
        ({"access": [], "privacy": []}, "core.pii-transformed"),  # the personal customer_id left in clear
    ],
)
def test_a_bad_replacement_is_refused_with_why_and_nothing_changes(
    tmp_path: Path, body: dict[str, object], says: str
) -> None:
    with serving(tmp_path, "--auth") as (http_port, _):
        owner = bearer(token(tmp_path / "ws", "me@example.com"))
        with httpx.Client(base_url=f"http://127.0.0.1:{http_port}", headers=owner, timeout=30) as http:
            refused = http.put(f"{CONTROL}/policies", json=body)
            assert refused.status_code == 422 and says in refused.json()["detail"], refused.text
            assert "nothing was changed" in refused.json()["detail"]
            assert http.get(f"{CONTROL}/policies/revisions").json() == []
            assert http.post(f"{CONTROL}/policies/rollback", json={"revision": 7}).status_code == 422
            log = http.get(f"{CONTROL}/audit", params={"limit": 1000}).json()
    assert ("control.replace-policies", "refused") in [(e["action"], e["decision"]) for e in log]
