"""Every live major on every port and in the client; a retired major is gone from every port at once."""

from __future__ import annotations

import json
import re
import time
from datetime import date
from pathlib import Path

import httpx
import pytest

import hexmesh
from hexmesh.client import DeprecatedMajorWarning
from hexmesh.errors import NotFoundError
from hexmesh.lifecycle import Workspace
from tests.server.nodes import add_orders, build_workspace, run_cli, serve

OLD, NEW = "/products/sales/shop@0", "/products/sales/shop"


def _two_majors(tmp_path: Path) -> Path:
    """sales/shop 0.1.0 (3 orders, deprecated) and 1.0.0 (a column more, 5 orders) side by side."""
    home, shop = build_workspace(tmp_path, big=False)
    spec = shop / "dataproduct.yaml"
    spec.write_text(spec.read_text().replace("version: 0.1.0", "version: 1.0.0"))
    add_orders(shop, "2026-01-02", 2, 100)
    workspace = Workspace.open(home)
    try:
        workspace.deploy([shop])
        workspace.run("sales/shop")
        workspace.deprecate("sales/shop", major=0, sunset=date(2027, 3, 1), successor="dp://sales/shop@1")
    finally:
        workspace.close()
    return home


def _events(http: httpx.Client, path: str, count: int) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    deadline = time.monotonic() + 60  # the emitter appends in the background
    while time.monotonic() < deadline:
        with http.stream("GET", f"{path}/ports/orders/events", params={"start": "beginning", "follow": False}) as got:
            assert got.status_code == 200, got.read()
            found = [json.loads(line[6:]) for line in got.iter_lines() if line.startswith("data: ")]
        if len(found) >= count:
            break
        time.sleep(0.2)
    return found


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _two_majors(tmp_path_factory.mktemp("majors"))


def test_an_older_major_is_served_on_files_events_discovery_and_observability(home: Path) -> None:
    with serve(home) as node, node.client() as http:
        old_rows = http.get(f"{OLD}/ports/orders/data", params={"format": "jsonl"})
        new_rows = http.get(f"{NEW}/ports/orders/data", params={"format": "jsonl"})
        old_doc = http.get(OLD).json()
        new_doc = http.get(NEW).json()
        old_health = http.get(f"{OLD}/observability")
        old_events = _events(http, OLD, 3)
        new_events = _events(http, NEW, 5)
        snapshots = http.get(f"{OLD}/ports/orders/snapshots").json()
    assert old_rows.status_code == new_rows.status_code == 200
    assert old_rows.text.count("\n") == 3 and new_rows.text.count("\n") == 5
    # The deprecated major says so (RFC 9745, RFC 8594) and names its successor; the newest does not.
    assert old_rows.headers["Deprecation"].startswith("@")
    assert old_rows.headers["Sunset"] == "Mon, 01 Mar 2027 00:00:00 GMT"
    assert 'rel="successor-version"' in old_rows.headers["Link"]
    assert "Deprecation" not in new_rows.headers
    assert old_doc["@id"].endswith("/products/sales/shop@0") and old_doc["hexmesh:major"] == 0
    assert old_doc["dcat:servesDataset"][0]["@id"].endswith("/products/sales/shop@0/ports/orders")
    assert new_doc["@id"].endswith("/products/sales/shop") and new_doc["hexmesh:major"] == 1
    majors = {m["hexmesh:major"]: m for m in new_doc["hexmesh:majors"]}
    assert majors[0]["hexmesh:status"] == "deprecated" and majors[0]["@id"].endswith("/products/sales/shop@0")
    assert majors[0]["hexmesh:sunset"] == "2027-03-01" and majors[0]["hexmesh:successor"] == "dp://sales/shop@1"
    assert majors[1]["hexmesh:status"] == "active" and "hexmesh:sunset" not in majors[1]
    # The deprecated major's own document says it is deprecated (not the spec's `status: active`).
    assert old_doc["hexmesh:lifecycle"] == "deprecated" and new_doc["hexmesh:lifecycle"] != "deprecated"
    assert old_health.status_code == 200 and "Deprecation" in old_health.headers
    # Each major has its own stream: no event of one major shows up on the other's.
    assert len(old_events) == 3 and len(new_events) == 5
    assert not {e["id"] for e in old_events} & {e["id"] for e in new_events}
    assert len(snapshots) == 1


def test_the_client_reads_any_live_major_and_warns_about_a_deprecated_one(home: Path) -> None:
    with serve(home) as node, hexmesh.connect(node.url) as mesh:
        with pytest.warns(DeprecatedMajorWarning, match=r"dp://sales/shop@0 is deprecated .*2027.*shop@1"):
            old = mesh.port("dp://sales/shop@0/orders").read()
        new = mesh.port("dp://sales/shop/orders").read()
        with pytest.raises(NotFoundError, match="no deployed major version 7"):
            mesh.port("dp://sales/shop@7/orders").read()
        with pytest.raises(NotFoundError, match="a major version is a number after @"):
            mesh.port("dp://sales/shop@one/orders").read()
    assert old.num_rows == 3 and new.num_rows == 5


def test_a_retired_major_is_gone_from_every_port_at_once(tmp_path: Path) -> None:
    home = _two_majors(tmp_path)
    with serve(home) as node, node.client() as http:
        assert http.get(f"{OLD}/ports/orders/data", params={"format": "jsonl"}).status_code == 200
        run_cli("retire", "sales/shop@0", "--home", str(home))
        answers = {
            "files": http.get(f"{OLD}/ports/orders/data", params={"format": "jsonl"}),
            "snapshots": http.get(f"{OLD}/ports/orders/snapshots"),
            "events": http.get(f"{OLD}/ports/orders/events", params={"follow": False}),
            "discovery": http.get(OLD),
            "observability": http.get(f"{OLD}/observability"),
        }
        newest = http.get(f"{NEW}/ports/orders/data", params={"format": "jsonl"})
        majors = http.get(NEW).json()["hexmesh:majors"]
    for port, answer in answers.items():
        assert answer.status_code == 404, port
        assert "retired" in answer.json()["detail"], port
    assert newest.status_code == 200 and newest.text.count("\n") == 5
    assert [m["hexmesh:major"] for m in majors] == [1]


def test_every_live_major_is_browsable_in_the_ui_side_by_side(home: Path) -> None:
    with serve(home) as node, node.client() as http:
        newest = http.get("/ui/products/sales/shop")
        older = http.get("/ui/products/sales/shop@0")
        old_rows = http.get("/ui/products/sales/shop@0/ports/orders/preview")
        new_rows = http.get("/ui/products/sales/shop/ports/orders/preview")
        retired = http.get("/ui/products/sales/shop@7")
        bad = http.get("/ui/products/sales/shop@one")
    for page in (newest, older):
        assert page.status_code == 200
        nav = re.search(r'<nav class="majors" aria-label="Live majors">(.*?)</nav>', page.text, re.S)
        assert nav, page.text
        links = re.findall(r'<a class="chip[^"]*" href="([^"]+)"', nav.group(1))
        assert links == ["/ui/products/sales/shop@0", "/ui/products/sales/shop"]
    assert "· v1.0.0</p>" in newest.text and "· v0.1.0</p>" in older.text
    assert 'data-standing="open"' in older.text  # a node without --auth: everyone reads, nothing to request
    shown = r'href="/ui/products/sales/shop@0" aria-current="page">v0\.1\.0 <span class="muted">deprecated'
    assert re.search(shown, older.text)
    # A consumer landing on the deprecated major learns until when it serves and where to go.
    notice = re.search(r'<div class="callout callout-warn deprecated-major".*?</div>', older.text, re.S)
    assert notice, older.text
    assert "v0.1.0 is deprecated</strong> and stops serving on 2027-03-01" in notice.group(0)
    assert '<code>dp://sales/shop@1</code> (<a href="/ui/products/sales/shop">v1.0.0</a>)' in notice.group(0)
    assert "deprecated-major" not in newest.text
    # Each major's preview reads its own rows: 3 orders in 0.1.0, 5 in 1.0.0.
    assert old_rows.status_code == new_rows.status_code == 200
    assert old_rows.text.count("<tr><td>") == 3 and new_rows.text.count("<tr><td>") == 5
    assert retired.status_code == 404 and "major" in retired.text
    assert bad.status_code == 404 and "shop@N" in bad.text
