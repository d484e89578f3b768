"""OpenLineage events from real runs, validated against the OpenLineage JSON schemas."""

from __future__ import annotations

import json
import textwrap
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import jsonschema
import pytest

from hexmesh.errors import QualityGateError
from hexmesh.lifecycle import Workspace, init_product
from hexmesh.mesh import FileTransport, HttpTransport, OpenLineageObserver, run_event
from hexmesh.spec import parse_spec
from tests.mesh.conftest import SPECS
from tests.support import grant_product

Validate = Callable[[dict[str, Any]], None]


@pytest.fixture
def shop(tmp_path: Path, workspace: Workspace) -> Path:
    folder = tmp_path / "orders"
    init_product(folder, domain="shop", name="orders", owner="shop-team@example.com")
    grant_product(folder, "finance/revenue", "orders")
    workspace.deploy([folder])
    return folder


def read_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_run_emits_start_and_complete(
    tmp_path: Path, workspace: Workspace, shop: Path, validate_event: Validate
) -> None:
    events_file = tmp_path / "lineage" / "events.jsonl"
    workspace.runtime.observers.append(OpenLineageObserver(FileTransport(events_file)))
    result = workspace.run("shop/orders")
    start, complete = read_events(events_file)
    for event in (start, complete):
        validate_event(event)
        assert event["run"]["runId"] == result.run_id
        assert event["job"] == {**event["job"], "namespace": "hexmesh", "name": "shop/orders"}
    assert (start["eventType"], complete["eventType"]) == ("START", "COMPLETE")
    # A file source is named by hexmesh names, never by where it lives on the server (ADR 0032).
    assert start["inputs"][0]["namespace"] == "hexmesh"
    assert start["inputs"][0]["name"] == "shop/orders/raw_orders"
    assert str(tmp_path) not in json.dumps([start, complete])
    output = complete["outputs"][0]
    assert output["name"] == "dp://shop/orders/orders"
    facets = output["facets"]
    assert [f["name"] for f in facets["schema"]["fields"]][:2] == ["order_id", "customer_id"]
    assert facets["ownership"]["owners"][0] == {"name": "shop-team@example.com", "type": "OWNER"}
    governance = facets["hexmesh_governance"]
    # The scaffold classifies every field: the customer is personal, the rest internal.
    assert governance["classifications"] == {
        "order_id": "internal",
        "customer_id": "personal",
        "ordered_at": "internal",
        "status": "internal",
        "amount": "internal",
    }
    assert governance["status"] == "draft" and governance["address"] == "dp://shop/orders/orders"
    assertions = facets["dataQualityAssertions"]["assertions"]
    assert {a["name"] for a in assertions} >= {"primaryKey", "acceptedValues(status)"}
    assert all(a["success"] for a in assertions)
    assert output["outputFacets"]["outputStatistics"]["rowCount"] == result.rows["orders"]
    status = facets["columnLineage"]["fields"]["status"]["inputFields"][0]
    assert (status["name"], status["field"]) == (start["inputs"][0]["name"], "status")
    assert status["transformations"] == [{"type": "DIRECT", "subtype": "TRANSFORMATION"}]
    assert "from raw_orders" in complete["job"]["facets"]["sql"]["query"]


def test_a_failed_run_emits_fail_with_the_error(
    tmp_path: Path, workspace: Workspace, shop: Path, validate_event: Validate
) -> None:
    (shop / "data" / "orders-2026-01-02.csv").write_text(
        "order_id,customer_id,ordered_at,status,amount\n9,1,2026-01-02 10:00:00,lost,1.00\n",
        encoding="utf-8",
    )
    events_file = tmp_path / "events.jsonl"
    workspace.runtime.observers.append(OpenLineageObserver(FileTransport(events_file)))
    with pytest.raises(QualityGateError):
        workspace.run("shop/orders")
    start, fail = read_events(events_file)
    validate_event(fail)
    assert fail["eventType"] == "FAIL" and fail["run"]["runId"] == start["run"]["runId"]
    error = fail["run"]["facets"]["errorMessage"]
    assert "quality check(s) failed" in error["message"] and error["programmingLanguage"] == "python"


class _Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(201)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    _Collector.received = []
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/v1/lineage", _Collector.received
    server.shutdown()
    server.server_close()
    thread.join()


def test_events_are_posted_to_an_http_endpoint(
    workspace: Workspace,
    shop: Path,
    collector: tuple[str, list[dict[str, Any]]],
    validate_event: Validate,
) -> None:
    url, received = collector
    workspace.runtime.observers.append(OpenLineageObserver(HttpTransport(url, timeout=5)))
    workspace.run("shop/orders")
    assert [e["eventType"] for e in received] == ["START", "COMPLETE"]
    for event in received:
        validate_event(event)


def test_an_unreachable_endpoint_never_fails_a_run(workspace: Workspace, shop: Path) -> None:
    observer = OpenLineageObserver(HttpTransport("http://127.0.0.1:9/lineage", timeout=0.5))
    workspace.runtime.observers.append(observer)
    result = workspace.run("shop/orders")
    assert result.status == "succeeded"
    assert observer.failures == 2


def test_http_transport_refuses_other_schemes() -> None:
    with pytest.raises(ValueError, match="not an http"):
        HttpTransport("file:///etc/passwd")


def test_the_schema_check_catches_a_facet_without_producer(validate_event: Validate) -> None:
    spec = parse_spec(textwrap.dedent(SPECS["users/user-profiles"]), "x.yaml")[0]
    event = run_event("START", spec, "3f1c1f3e-8a4e-4d5e-9a55-6c1a8f0f2b11")
    validate_event(event)
    del event["outputs"][0]["facets"]["hexmesh_governance"]["_producer"]
    with pytest.raises(jsonschema.ValidationError, match="_producer"):
        validate_event(event)


def test_downstream_input_is_the_upstream_output_dataset(
    tmp_path: Path, workspace: Workspace, shop: Path, validate_event: Validate
) -> None:
    folder = tmp_path / "revenue"
    folder.mkdir()
    (folder / "dataproduct.yaml").write_text(
        textwrap.dedent(
            """
            domain: finance
            name: revenue
            version: 1.0.0
            owner: finance@example.com
            inputPorts:
              - {name: orders, from: "dp://shop/orders/orders"}
            transformation: {sql: transform.sql}
            outputPorts:
              - name: by_customer
                properties:
                  # Another domain reads the shop's customers by pseudonym (its privacy rule).
                  - {name: customer_id, logicalType: string, classification: personal}
                  - {name: total, logicalType: decimal, precision: 12, scale: 2}
            policies:
              privacy:
                - {field: customer_id, for: {group: partners}, redact: true}
            """
        ),
        encoding="utf-8",
    )
    (folder / "transform.sql").write_text(
        "select customer_id, sum(amount) as total from orders group by customer_id",
        encoding="utf-8",
    )
    workspace.deploy([folder])
    events_file = tmp_path / "events.jsonl"
    workspace.runtime.observers.append(OpenLineageObserver(FileTransport(events_file)))
    workspace.run_all()
    events = read_events(events_file)
    for event in events:
        validate_event(event)
    upstream = next(e for e in events if e["job"]["name"] == "shop/orders" and e["eventType"] == "COMPLETE")
    downstream = next(e for e in events if e["job"]["name"] == "finance/revenue" and e["eventType"] == "COMPLETE")
    output = upstream["outputs"][0]
    assert downstream["inputs"] == [{"namespace": output["namespace"], "name": output["name"], "facets": {}}]
    total = downstream["outputs"][0]["facets"]["columnLineage"]["fields"]["total"]["inputFields"]
    assert total == [
        {
            "namespace": "hexmesh",
            "name": "dp://shop/orders/orders",
            "field": "amount",
            "transformations": [{"type": "DIRECT", "subtype": "AGGREGATION"}],
        }
    ]
