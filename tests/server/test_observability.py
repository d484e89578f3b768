"""The observability port: SLO status, history, shape, drift, breach events and /metrics."""

from __future__ import annotations

import json
import time
from pathlib import Path

from hexmesh.lifecycle import Workspace
from tests.server.nodes import RunningNode, add_orders, build_workspace, serve


def test_each_observer_reports_a_status(node: RunningNode) -> None:
    with node.client() as http:
        body = http.get("/products/sales/big/observability").json()
    (port,) = body["ports"]
    checks = {c["name"]: c for c in port["checks"]}
    assert set(checks) == {"freshness", "completeness", "volume", "schema", "drift"}
    assert checks["completeness"]["status"] == checks["drift"]["status"] == "not configured"
    assert checks["freshness"]["status"] == "green" and checks["freshness"]["target"] == 86400
    assert checks["schema"]["detail"] == "conforms"
    amount = port["shape"]["amount"]
    assert amount["null_ratio"] == 0 and amount["min"] == 0.5 and amount["max"] == 499.5
    assert set(amount["quantiles"]) == {"0.05", "0.25", "0.5", "0.75", "0.95"}
    assert port["timeliness"]["p95_s"] > 0
    assert port["history"][0]["rows"] == 200_000


def test_metrics_are_prometheus_text(node: RunningNode) -> None:
    with node.client() as http:
        response = http.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    assert 'hexmesh_port_rows_added{port="orders",product="sales/big"} 200000.0' in response.text
    assert 'hexmesh_slo_status{port="orders",product="sales/shop",slo="freshness"} 0.0' in response.text


def test_drift_and_breaches(tmp_path: Path) -> None:
    home, shop = build_workspace(tmp_path, big=False)
    spec = shop / "dataproduct.yaml"
    # Promise a timeliness the (2026-01-01) events cannot meet, and deploy the new version.
    spec.write_text(
        spec.read_text()
        .replace("freshness: 1d", "freshness: 1d\n      timeliness: 1h")
        .replace("version: 0.1.0", "version: 0.2.0")
    )
    workspace = Workspace.open(home)
    workspace.deploy([shop])
    # The first publication was the initial load; a delivery like it sets the mean the jump is judged by.
    add_orders(shop, "2026-01-02", 3, 50)
    workspace.run("sales/shop")
    add_orders(shop, "2026-01-03", 30, 100)
    workspace.run("sales/shop")
    workspace.close()
    with serve(home) as node, node.client() as http:
        port = http.get("/products/sales/shop/observability").json()["ports"][0]
        breaches = []
        deadline = time.monotonic() + 120  # the emitter appends breaches in the background
        while time.monotonic() < deadline:
            with http.stream(
                "GET", "/products/sales/shop/events", params={"start": "beginning", "follow": False}
            ) as response:
                breaches = [json.loads(x[6:]) for x in response.iter_lines() if x.startswith("data: ")]
            if breaches:
                break
            time.sleep(0.1)
    checks = {c["name"]: c for c in port["checks"]}
    assert checks["timeliness"]["status"] == "red"
    assert checks["volume"]["status"] == "amber"  # 30 rows against 3: +900 %
    assert "amount" in port["drift"] and len(port["history"]) == 3
    assert breaches[0]["type"] == "dev.hexmesh.slo.breached"
    assert {b["data"]["slo"] for b in breaches} >= {"timeliness"}
