"""OpenLineage by a setting (a file, an HTTP endpoint like Marquez), not by code: `run --all` reports a
parent run; a failure says what failed without a row of data; every event validates against the
OpenLineage JSON Schemas."""

from __future__ import annotations

import json
import textwrap
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from hexmesh.cli.main import app
from hexmesh.errors import WorkspaceError
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace, init_product
from hexmesh.mesh import lineage_observer
from tests.support import grant_product

Validate = Callable[[dict[str, Any]], None]
#: A value only the rows of the failing run hold: it must never reach a lineage consumer.
CANARY = "canary-4f1c@example.com"


def _events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _mesh(tmp_path: Path, home: Path) -> Path:
    shop = tmp_path / "mesh" / "orders"
    init_product(shop, domain="shop", name="orders", owner="shop-team@example.com")
    grant_product(shop, "finance/revenue", "orders")
    revenue = tmp_path / "mesh" / "revenue"
    revenue.mkdir(parents=True)
    (revenue / "dataproduct.yaml").write_text(
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
              - name: totals
                properties:
                  - {name: status, logicalType: string}
                  - {name: total, logicalType: number}
                quality:
                  - {sql: "select count(*) = 0 from totals where total < 0", name: no negative totals}
            """
        )
    )
    (revenue / "transform.sql").write_text("select status, sum(amount) as total from orders group by status")
    return tmp_path / "mesh"


def test_a_file_setting_reports_run_all_with_a_parent_run(tmp_path: Path, validate_event: Validate) -> None:
    home = tmp_path / "ws"
    home.mkdir()
    events = tmp_path / "lineage" / "events.jsonl"
    (home / "settings.yaml").write_text(f"openlineage_url: file://{events}\nopenlineage_namespace: prod-eu\n")
    runner = CliRunner()
    mesh = _mesh(tmp_path, home)
    assert runner.invoke(app, ["deploy", str(mesh), "--home", str(home)]).exit_code == 0
    result = runner.invoke(app, ["run", "--all", "--home", str(home)])
    assert result.exit_code == 0, result.output
    sent = _events(events)
    for event in sent:
        validate_event(event)
    parent = sent[0]
    assert (parent["eventType"], parent["job"]) == (
        "START",
        {**parent["job"], "namespace": "prod-eu", "name": "run-all"},
    )
    assert sent[-1]["eventType"] == "COMPLETE" and sent[-1]["run"]["runId"] == parent["run"]["runId"]
    children = sent[1:-1]
    assert [(e["job"]["name"], e["eventType"]) for e in children] == [
        ("shop/orders", "START"),
        ("shop/orders", "COMPLETE"),
        ("finance/revenue", "START"),
        ("finance/revenue", "COMPLETE"),
    ]
    for child in children:
        assert child["run"]["facets"]["parent"]["run"] == {"runId": parent["run"]["runId"]}
        assert child["run"]["facets"]["parent"]["job"] == {"namespace": "prod-eu", "name": "run-all"}
    # A port is its dp:// address in the node's namespace; a file input is named by hexmesh, never by its
    # server path (ADR 0032): <domain>/<product>/<input port> in the same namespace.
    shop_done, revenue_done = children[1], children[3]
    assert shop_done["outputs"][0]["namespace"] == "prod-eu"
    assert shop_done["outputs"][0]["name"] == "dp://shop/orders/orders"
    assert revenue_done["inputs"] == [{"namespace": "prod-eu", "name": "dp://shop/orders/orders", "facets": {}}]
    (source,) = shop_done["inputs"]
    assert source["namespace"] == "prod-eu" and source["name"] == "shop/orders/raw_orders"
    assert source["facets"]["dataSource"]["name"] == "raw_orders" and "uri" not in source["facets"]["dataSource"]
    assert str(mesh) not in json.dumps(sent)  # no event names where the mesh's files are


def test_a_failure_names_the_error_and_failing_checks_but_no_data(tmp_path: Path, validate_event: Validate) -> None:
    home = tmp_path / "ws"
    events = tmp_path / "events.jsonl"
    settings = Settings(home=home, openlineage_url=f"file://{events}")
    with Workspace(settings) as workspace:
        workspace.observe(lineage_observer(settings))  # type: ignore[arg-type]
        shop = tmp_path / "orders"
        init_product(shop, domain="shop", name="orders", owner="shop-team@example.com")
        csv = next((shop / "data").iterdir())
        lines = csv.read_text().splitlines()
        header = lines[0].split(",")
        row = lines[1].split(",")
        row[header.index("status")] = CANARY  # not an accepted status: the gate fails with it as example
        csv.write_text("\n".join([*lines, ",".join(row)]) + "\n")
        workspace.deploy([shop])
        outcomes = workspace.run_all()
    assert isinstance(outcomes[0], Exception) and CANARY in str(outcomes[0])  # the owner's run record shows it
    sent = _events(events)
    for event in sent:
        validate_event(event)
    text = json.dumps(sent)
    assert CANARY not in text
    fail = next(e for e in sent if e["eventType"] == "FAIL" and e["job"]["name"] == "shop/orders")
    error = fail["run"]["facets"]["errorMessage"]
    assert error["message"] == (
        "QualityGateError: 2 quality check(s) failed for shop/orders; nothing was published: "
        "Failed checks: orders: primaryKey; orders: acceptedValues(status)"
    )
    assert "stackTrace" not in error
    assertions = fail["outputs"][0]["facets"]["dataQualityAssertions"]["assertions"]
    assert {a["name"]: a["success"] for a in assertions}["acceptedValues(status)"] is False
    assert all("description" not in a for a in assertions)
    batch = sent[-1]
    assert batch["job"]["name"] == "run-all" and batch["eventType"] == "FAIL"
    assert batch["run"]["facets"]["errorMessage"]["message"] == "1 product(s) failed: shop/orders"


class _Marquez(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str, dict[str, Any]]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append((self.path, self.headers.get("Authorization", ""), body))
        self.send_response(201)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def marquez() -> Iterator[str]:
    _Marquez.received = []
    server = HTTPServer(("127.0.0.1", 0), _Marquez)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/v1/lineage"
    server.shutdown()
    server.server_close()
    thread.join()


def test_an_http_setting_posts_to_a_marquez_endpoint_with_its_key(
    tmp_path: Path, marquez: str, validate_event: Validate, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "ws"
    monkeypatch.setenv("HEXMESH_OPENLINEAGE_URL", marquez)
    monkeypatch.setenv("HEXMESH_OPENLINEAGE_API_KEY", "s3cret")
    shop = tmp_path / "orders"
    init_product(shop, domain="shop", name="orders", owner="shop-team@example.com")
    runner = CliRunner()
    assert runner.invoke(app, ["deploy", str(shop), "--home", str(home)]).exit_code == 0
    assert runner.invoke(app, ["run", "shop/orders", "--home", str(home)]).exit_code == 0
    assert [(path, auth, body["eventType"]) for path, auth, body in _Marquez.received] == [
        ("/api/v1/lineage", "Bearer s3cret", "START"),
        ("/api/v1/lineage", "Bearer s3cret", "COMPLETE"),
    ]
    for _, _, body in _Marquez.received:
        validate_event(body)


def test_a_bad_setting_says_what_to_write(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "ws", openlineage_url="kafka://broker/topic")
    with pytest.raises(WorkspaceError, match="neither http.* nor file://; write http://host:5000/api/v1/lineage"):
        lineage_observer(settings)


def test_lineage_is_off_by_default(tmp_path: Path) -> None:
    assert lineage_observer(Settings(home=tmp_path / "ws")) is None
