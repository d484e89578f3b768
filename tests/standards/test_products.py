"""ODPS with its ODCS contracts, hexmesh's own products out and back in, and what an import lists."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from hexmesh.errors import HexmeshError, SpecError
from hexmesh.lifecycle import Workspace
from hexmesh.spec import load_spec
from hexmesh.standards import Options, dump_document, export_documents, import_documents, validate_document
from tests.support import ORDERS_SPEC, ORDERS_SQL, ProductFactory

OPTIONS = Options(domain="examples", owner="owner@example.com")

ODPS = """
apiVersion: v1.0.0
kind: DataProduct
id: quantum-product
name: My Quantum
version: 2.1.0
status: active
domain: seller
outputPorts:
  - name: payments
    version: 1.1.0
    contractId: 53581432-6c55-4ba2-a65f-72344a91553a
    type: tables
  - name: refunds
    version: 1.0.0
    contractId: not-given-here
team:
  members:
    - {username: ann@example.com, role: owner}
    - {username: bob@example.com, role: steward}
"""


def test_an_odps_product_takes_its_contracts_by_id(standards: Path, tmp_path: Path) -> None:
    product = tmp_path / "product.odps.yaml"
    product.write_text(textwrap.dedent(ODPS))
    contract = standards / "odcs/examples/all/full-example.odcs.yaml"
    (imported,) = import_documents([product, contract], OPTIONS)
    spec = imported.spec
    assert spec.key == "seller/my-quantum" and spec.version == "2.1.0"
    assert spec.owner == "ann@example.com" and spec.contacts == ["bob@example.com"]
    # The contract's two schema objects are two ports, named after them; the ODPS port keeps its name.
    assert [p.name for p in spec.output_ports] == ["tbl", "receivers", "refunds"]
    assert [f.name for f in spec.output_ports[0].properties][:2] == ["transaction_reference_date", "rcvr_id"]
    assert any("refunds]: placeholder schema" in line for line in imported.notes.changed)
    files = export_documents(spec, "odps")
    product_doc = files["my-quantum.odps.yaml"]
    assert [(p["name"], p["contractId"]) for p in product_doc["outputPorts"]] == [
        ("payments", "53581432-6c55-4ba2-a65f-72344a91553a"),
        ("receivers", "dp://seller/my-quantum@2/receivers"),
        ("refunds", "not-given-here"),
    ]
    payments = files["my-quantum.tbl.odcs.yaml"]
    assert payments["id"] == "53581432-6c55-4ba2-a65f-72344a91553a"  # contractId → the contract's id
    assert payments["servers"][0]["server"] == "my-postgres"  # the contract's own keys go with it
    assert "my-quantum.refunds.odcs.yaml" not in files  # its contract was not imported: nothing to write
    assert all(validate_document(doc, name) == [] for name, doc in files.items())


def test_a_contract_no_port_names_is_refused(standards: Path, tmp_path: Path) -> None:
    product = tmp_path / "product.odps.yaml"
    product.write_text(textwrap.dedent(ODPS).replace("53581432-6c55-4ba2-a65f-72344a91553a", "other"))
    contract = standards / "odcs/examples/all/full-example.odcs.yaml"
    with pytest.raises(SpecError, match=r"full-example.odcs.yaml:\d+:\d+: contract '53581432.*' is no output port"):
        import_documents([product, contract], OPTIONS)


@pytest.mark.parametrize("fmt", ["odps", "odcs", "dpds", "dcs"])
def test_a_hexmesh_product_goes_out_and_comes_back(make_product: ProductFactory, tmp_path: Path, fmt: str) -> None:
    spec = ORDERS_SPEC.replace(
        "    quality:\n",
        "    slo: {freshness: 1d, timeliness: 2h, retention: 3y}\n    tags: [sales]\n    quality:\n",
    ).replace("{name: amount, logicalType: number}", "{name: amount, logicalType: number, physicalType: DOUBLE}")
    original = load_spec(make_product("orders", spec, {"transform.sql": ORDERS_SQL})).spec
    files = export_documents(original, fmt)  # type: ignore[arg-type]
    written = []
    for name, document in files.items():
        (tmp_path / name).write_text(dump_document(name, document))
        written.append(tmp_path / name)
    (back,) = import_documents(written, Options(domain="sales", owner="x@example.com"))
    port, before = back.spec.output_ports[0], original.output_ports[0]
    assert back.spec.key == original.key and back.spec.version == original.version
    assert back.spec.owner == original.owner
    assert [(f.name, f.logical_type, f.required) for f in port.properties] == [
        (f.name, f.logical_type, f.required) for f in before.properties
    ]
    assert port.field("amount").physical_type == "DOUBLE"  # type: ignore[union-attr]
    assert port.primary_key == before.primary_key and port.tags == ["sales"]
    assert port.slo is not None and port.slo.freshness == "1d" and port.slo.retention == "3y"
    assert port.event_time == "ordered_at" and port.slo.timeliness == "2h"
    # range(amount) is an ODCS/DCS sql rule; DPDS carries hexmesh's own port spec (x-hexmesh).
    assert [c.kind for c in port.quality] == ["range" if fmt == "dpds" else "sql"]
    assert back.spec.policies.privacy == original.policies.privacy  # kept as hexmesh.policies


def test_import_lists_what_it_kept_and_changed(standards: Path, workspace: Workspace, tmp_path: Path) -> None:
    (outcome,) = workspace.import_documents(
        [standards / "odcs/examples/all/full-example.odcs.yaml"], tmp_path, domain="x", owner="y"
    )
    assert outcome.folder == tmp_path / "my-quantum"
    assert (outcome.folder / "README.md").read_text().startswith("# my quantum\n\nViews built on top")
    assert any(
        line.startswith("contract: odcs.dataProduct, odcs.id, odcs.authoritativeDefinitions") for line in outcome.kept
    )
    assert any("odcs.businessName" in line for line in outcome.kept)
    assert any("rcvr_id tagged as the data subject" in line for line in outcome.changed)
    assert any("generalAvailability" in line and "not checked" in line for line in outcome.changed)
    spec = load_spec(outcome.folder).spec
    assert spec.policies.access[0].allow is not None and spec.policies.access[0].allow.group == "microstrategy_user_opr"
    assert any("bq_unica_user_opr (write access" in line for line in outcome.changed)
    tbl = spec.output_ports[0]
    assert tbl.slo is not None and tbl.slo.timeliness == "4d" and tbl.slo.retention == "3y"
    assert [c.label for c in tbl.quality] == ["rowCount", "nullValues(rcvr_cntry_code)"]


def test_import_never_overwrites_a_folder_without_force(standards: Path, workspace: Workspace, tmp_path: Path) -> None:
    contract = standards / "odcs/examples/schema/table-column.odcs.yaml"
    (outcome,) = workspace.import_documents([contract], tmp_path, domain="x")
    (outcome.folder / "transform.sql").write_text("select 1")
    (outcome.folder / "notes.md").write_text("mine")
    with pytest.raises(HexmeshError, match="already holds files.*--force"):
        workspace.import_documents([contract], tmp_path, domain="x")
    assert (outcome.folder / "notes.md").read_text() == "mine"
    workspace.import_documents([contract], tmp_path, domain="x", force=True)
    assert (outcome.folder / "notes.md").read_text() == "mine"  # files the import does not write stay


def test_a_document_of_no_standard_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "thing.yaml"
    path.write_text(yaml.safe_dump({"hello": "world"}))
    with pytest.raises(SpecError, match=r"thing.yaml:1:1: not a document of a standard hexmesh imports"):
        import_documents([path], OPTIONS)


def test_a_dcs_document_needs_a_domain(standards: Path) -> None:
    with pytest.raises(SpecError, match="has no domain.*--domain"):
        import_documents([standards / "datacontract-spec/examples/orders-latest/datacontract.yaml"], Options())
