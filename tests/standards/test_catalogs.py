"""The whole mesh for DataHub (read back by DataHub's own metadata model) and OpenMetadata."""

from __future__ import annotations

import json
import textwrap
import warnings
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from hexmesh.cli.main import app
from hexmesh.lifecycle import Workspace, init_product
from hexmesh.standards.openmetadata import DATA_TYPES
from tests.support import grant_product


def _mesh(workspace: Workspace, tmp_path: Path) -> None:
    shop = tmp_path / "orders"
    init_product(shop, domain="shop", name="orders", owner="shop-team@example.com")
    grant_product(shop, "finance/revenue", "orders")
    revenue = tmp_path / "revenue"
    revenue.mkdir()
    (revenue / "dataproduct.yaml").write_text(
        textwrap.dedent(
            """
            domain: finance
            name: revenue
            version: 1.0.0
            owner: finance@example.com
            tags: [finance]
            inputPorts:
              - {name: orders, from: "dp://shop/orders/orders"}
            transformation: {sql: transform.sql}
            outputPorts:
              - name: totals
                primaryKey: [status]
                properties:
                  - {name: status, logicalType: string, required: true}
                  - {name: total, logicalType: decimal, precision: 12, scale: 2}
            """
        )
    )
    (revenue / "transform.sql").write_text("select status, sum(amount) as total from orders group by status")
    workspace.deploy([shop, revenue])


def test_datahub_reads_the_mesh_back(workspace: Workspace, tmp_path: Path) -> None:
    _mesh(workspace, tmp_path)
    proposals = json.loads(workspace.export_catalog("datahub", base_url="http://node:8080"))
    with warnings.catch_warnings():  # DataHub's package warns about its own deprecations on import
        warnings.simplefilter("ignore")
        from datahub.emitter.mcp import MetadataChangeProposalWrapper
        from datahub.metadata.schema_classes import SchemaMetadataClass, UpstreamLineageClass

        parsed = [MetadataChangeProposalWrapper.from_obj(p) for p in proposals]
    assert all(p.aspect is not None and p.aspect.validate() for p in parsed)
    by: dict[tuple[str, str], Any] = {(str(p.entityUrn), str(p.aspectName)): p.aspect for p in parsed}
    totals = "urn:li:dataset:(urn:li:dataPlatform:hexmesh,finance.revenue.totals,PROD)"
    orders = "urn:li:dataset:(urn:li:dataPlatform:hexmesh,shop.orders.orders,PROD)"
    lineage = by[(totals, "upstreamLineage")]
    assert isinstance(lineage, UpstreamLineageClass) and [u.dataset for u in lineage.upstreams] == [orders]
    schema = by[(totals, "schemaMetadata")]
    assert isinstance(schema, SchemaMetadataClass)
    assert [(f.fieldPath, f.nullable, f.isPartOfKey) for f in schema.fields] == [
        ("status", False, True),
        ("total", True, False),
    ]
    assert ("urn:li:domain:finance", "domainProperties") in by
    product = by[("urn:li:dataProduct:finance.revenue", "dataProductProperties")]
    assert [a.destinationUrn for a in product.assets] == [totals]
    owners = by[(totals, "ownership")]
    assert [o.owner for o in owners.owners] == ["urn:li:corpuser:finance@example.com"]
    (source,) = by[(orders, "upstreamLineage")].upstreams
    assert source.dataset.startswith("urn:li:dataset:(urn:li:dataPlatform:file,")


def test_openmetadata_requests_reference_what_they_create(workspace: Workspace, tmp_path: Path) -> None:
    _mesh(workspace, tmp_path)
    runner = CliRunner()
    out = tmp_path / "mesh.openmetadata.json"
    result = runner.invoke(
        app, ["export", "--format", "openmetadata", "--out", str(out), "--home", str(workspace.settings.home)]
    )
    assert result.exit_code == 0, result.output
    requests = json.loads(out.read_text())
    domains = {d["name"] for d in requests["domains"]}
    databases = {f"{d['service']}.{d['name']}" for d in requests["databases"]}
    schemas = {f"{s['database']}.{s['name']}" for s in requests["databaseSchemas"]}
    tables = {f"{t['databaseSchema']}.{t['name']}" for t in requests["tables"]}
    assert domains == {"finance", "shop"}
    assert all(s.rsplit(".", 1)[0] in databases for s in schemas)
    assert tables == {"hexmesh.finance.revenue.totals", "hexmesh.shop.orders.orders"}
    assert all(c["dataType"] in DATA_TYPES.values() for t in requests["tables"] for c in t["columns"])
    assert all(set(t["domains"]) <= domains for t in requests["tables"])
    (edge,) = requests["lineage"]
    assert (edge["fromEntity"]["fullyQualifiedName"], edge["toEntity"]["fullyQualifiedName"]) == (
        "hexmesh.shop.orders.orders",
        "hexmesh.finance.revenue.totals",
    )
    products = {p["name"]: p for p in requests["dataProducts"]}
    assert [a["fullyQualifiedName"] for a in products["finance.revenue"]["assets"]] == [
        "hexmesh.finance.revenue.totals"
    ]
    printed = runner.invoke(app, ["export", "--format", "datahub", "--home", str(workspace.settings.home)])
    assert printed.exit_code == 0 and json.loads(printed.output)[0]["entityType"] == "domain"


def test_datahub_names_a_database_source_by_its_platform(workspace: Workspace) -> None:
    from hexmesh.demo.mesh import example_mesh

    workspace.deploy([example_mesh() / "users" / "user-profiles"])
    proposals = json.loads(workspace.export_catalog("datahub"))
    upstreams = [
        u["dataset"]
        for p in proposals
        if p["aspectName"] == "upstreamLineage" and "user-profiles" in p["entityUrn"]
        for u in json.loads(p["aspect"]["value"])["upstreams"]
    ]
    # The example spec reads SQLite unless HEXMESH_DEMO_POSTGRES names a PostgreSQL database.
    assert upstreams == ["urn:li:dataset:(urn:li:dataPlatform:sqlite,registrations,PROD)"]
