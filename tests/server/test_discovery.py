"""The discovery port and the node's API description."""

from __future__ import annotations

import re

from tests.server.nodes import RunningNode


def test_root_lists_every_product_as_a_dcat_catalog(node: RunningNode) -> None:
    with node.client() as http:
        response = http.get("/")
    assert response.headers["content-type"].startswith("application/ld+json")
    body = response.json()
    assert body["@type"] == "dcat:Catalog"
    assert [s["dct:identifier"] for s in body["dcat:service"]] == [
        "dp://sales/big",
        "dp://sales/shop",
    ]


def test_product_document_has_everything_to_find_trust_and_use_it(node: RunningNode) -> None:
    with node.client() as http:
        doc = http.get("/products/sales/shop").json()
    assert doc["@type"] == "dcat:DataService"
    assert doc["@context"]["dcat"] == "http://www.w3.org/ns/dcat#"
    assert doc["dct:publisher"]["foaf:name"] == "shop-team@example.com"
    assert "<h1>" in doc["hexmesh:readme"]
    assert doc["hexmesh:versions"][0]["dcat:version"] == "0.1.0"
    assert doc["hexmesh:lineage"]["hexmesh:inputPorts"][0]["hexmesh:name"] == "raw_orders"
    assert doc["hexmesh:quality"][0]["hexmesh:status"] == "succeeded"
    assert "hexmesh:howTo" in doc["hexmesh:access"]
    (dataset,) = doc["dcat:servesDataset"]
    assert dataset["@type"] == "dcat:Dataset"
    assert dataset["dct:identifier"] == "dp://sales/shop/orders"
    customer = next(f for f in dataset["hexmesh:schema"] if f["hexmesh:name"] == "customer_id")
    assert customer["hexmesh:classification"] == "personal"
    assert dataset["hexmesh:slo"] == {"freshness": "1d"}
    assert dataset["hexmesh:sloStatus"]["hexmesh:status"] in ("green", "amber", "red")
    titles = {d["dct:title"] for d in dataset["dcat:distribution"]}
    assert {
        "files (parquet)",
        "files (csv)",
        "events (Server-Sent Events)",
        "Python",
        "Apache Iceberg table",
    } <= titles
    iceberg = next(d for d in dataset["dcat:distribution"] if d["dct:title"] == "Apache Iceberg table")
    assert iceberg["dcat:accessURL"].endswith(".metadata.json")


def test_unknown_product_is_a_404_problem_naming_the_closest(node: RunningNode) -> None:
    with node.client() as http:
        response = http.get("/products/sales/shp")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 404 and "sales/shop" in problem["detail"]
    assert problem["instance"] == "/products/sales/shp"


def test_unknown_route_is_a_problem_too(node: RunningNode) -> None:
    with node.client() as http:
        response = http.get("/nowhere")
    assert response.status_code == 404
    assert response.json()["type"].startswith("https://hexmesh.dev/problems/")


def test_openapi_describes_every_port(node: RunningNode) -> None:
    with node.client() as http:
        spec = http.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/products/{domain}/{name}",
        "/products/{domain}/{name}/ports/{port}/data",
        "/products/{domain}/{name}/ports/{port}/snapshots/{snapshot_id}/data",
        "/products/{domain}/{name}/ports/{port}/events",
        "/products/{domain}/{name}/observability",
        "/products/{domain}/{name}/control/runs",
        "/metrics",
    ):
        assert path in paths
    not_found = paths["/products/{domain}/{name}"]["get"]["responses"]["404"]
    assert "application/problem+json" in not_found["content"]


def test_the_api_docs_page_works_offline(node: RunningNode) -> None:
    with node.client() as http:
        page = http.get("/docs")
        assert page.status_code == 200 and "/openapi.json" in page.text
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text) + re.findall(r"url: '([^']+)'", page.text)
        assert sources and all(s.startswith("/") for s in sources), sources  # nothing from a CDN
        script = http.get("/docs/assets/swagger-ui-bundle.js")
        assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
        assert len(script.content) > 100_000
        assert http.get("/docs/assets/../../pyproject.toml").status_code == 404
        assert http.get("/docs/assets/swagger-ui-bundle.js.map").status_code == 404
