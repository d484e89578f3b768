"""A discovery document is built for each caller from what it may see: a key added later reaches only owners."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from hexmesh.errors import ReadError
from hexmesh.governance import UNRESTRICTED, Principal
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
from hexmesh.product import ReadRequest
from hexmesh.serving import Node, NodeOptions, files
from hexmesh.serving.disclosure import visible_document
from hexmesh.serving.preview import preview
from tests.product.sql.conftest import write_product

SPEC = """
domain: crm
name: people
version: 1.0.0
owner: crm@example.com
description: People, with a hidden e-mail.
inputPorts:
  - name: raw
    source: {format: csv, path: data}
transformation:
  sql: transform.sql
outputPorts:
  - name: people
    properties:
      - {name: person_id, logicalType: string, required: true, classification: internal}
      - {name: email, logicalType: string, classification: confidential}
      - {name: region, logicalType: string, classification: internal}
policies:
  access:
    - {id: analysts, allow: {group: analysts}, columns: {exclude: [email]}}
"""
SQL = "select person_id, email, region from raw\n"
OWNER = Principal("crm@example.com")
ANALYST = Principal("ann", groups=frozenset({"analysts"}))
#: A value no caller but the owner may ever get, planted under keys the node does not write (yet).
PLANTED = "cnrynewkey0001"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    root = tmp_path_factory.mktemp("disclosure")
    folder = write_product(root / "people", SPEC, SQL, "person_id,email,region\np1,secret1@crm.test,EU\n")
    workspace = Workspace(Settings.defaults(root / "ws"))
    workspace.deploy([folder])
    workspace.run("crm/people")
    yield Node(workspace, NodeOptions(auth=True))
    workspace.close()


def _with_new_keys(document: dict[str, Any]) -> dict[str, Any]:
    """The node's document as a later version might write it: a new key at every level."""
    grown = copy.deepcopy(document)
    grown["hexmesh:newSetting"] = PLANTED
    dataset = grown["dcat:servesDataset"][0]
    dataset["hexmesh:newSetting"] = PLANTED
    dataset["hexmesh:schema"][0]["hexmesh:newSetting"] = PLANTED
    dataset["hexmesh:sloStatus"]["hexmesh:newSetting"] = PLANTED
    for distribution in dataset["dcat:distribution"]:
        distribution["hexmesh:newSetting"] = PLANTED
    grown["hexmesh:lineage"]["hexmesh:newSetting"] = PLANTED
    grown["hexmesh:lineage"]["hexmesh:inputPorts"][0]["hexmesh:newSetting"] = PLANTED
    grown["hexmesh:access"]["hexmesh:newSetting"] = PLANTED
    for run in grown["hexmesh:quality"]:
        run["hexmesh:newSetting"] = PLANTED
        for check in run["hexmesh:checks"]:
            check["hexmesh:newSetting"] = PLANTED
    return grown


def test_a_key_added_to_the_discovery_document_reaches_only_the_owner(node: Node) -> None:
    document = node.discovery("crm", "people").content
    assert document["hexmesh:quality"], "the run's quality checks are in the document"
    grown = _with_new_keys(document)
    product = node.product("crm", "people")

    assert visible_document(node, OWNER, grown, product) is grown  # the owner sees all of it

    seen = visible_document(node, ANALYST, grown, product)
    text = json.dumps(seen)
    assert PLANTED not in text, [line for line in json.dumps(seen, indent=1).splitlines() if PLANTED in line]
    # What the analyst may see is there: the port, its visible columns, the ways to read it.
    [dataset] = seen["dcat:servesDataset"]
    assert [f["hexmesh:name"] for f in dataset["hexmesh:schema"]] == ["person_id", "region"]
    assert {d["dct:title"] for d in dataset["dcat:distribution"]} >= {"files (parquet)", "snapshots", "Python"}
    assert seen["hexmesh:lineage"]["hexmesh:inputPorts"] == [
        {"hexmesh:name": "raw", "hexmesh:window": "all", "hexmesh:from": None, "hexmesh:source": {"format": "csv"}}
    ]
    # Nothing of where the data lives (the source's path, the Iceberg table) or of the hidden column.
    assert "Apache Iceberg table" not in text and "email" not in text


def test_a_node_without_auth_previews_every_column_through_the_door_as_the_unrestricted_principal(
    node: Node,
) -> None:
    open_node = Node(node.workspace, NodeOptions(auth=False))
    try:
        shown = preview(open_node, UNRESTRICTED, open_node.product("crm", "people"), "people")
        assert shown.columns == ("person_id", "email", "region")
        assert "secret1@crm.test" in shown.rows[0] and "p1" in shown.rows[0]
        # Its document is the owner's, decided by the same policy code (no branch for "no auth").
        document = open_node.discovery("crm", "people").content
        assert visible_document(open_node, UNRESTRICTED, document) is document
        # The read went through the door: it is audited as the unrestricted principal's.
        entries = open_node.workspace.stewardship.audit(actor="Unrestricted:no-auth")
        assert "ui.read" in [e.action for e in entries]
    finally:
        asyncio.run(open_node.stop())


def test_a_node_without_auth_serves_files_through_the_door_audited_as_the_unrestricted_principal(
    node: Node,
) -> None:
    open_node = Node(node.workspace, NodeOptions(auth=False))
    try:
        reader = open_node.reader("crm", "people", "people")
        before = len(open_node.workspace.stewardship.audit(actor="Unrestricted:no-auth", action="files.read"))
        data = b"".join(files.rows(open_node, UNRESTRICTED, reader, "jsonl", ReadRequest(), None))
        assert json.loads(data) == {"person_id": "p1", "email": "secret1@crm.test", "region": "EU"}
        after = open_node.workspace.stewardship.audit(actor="Unrestricted:no-auth", action="files.read")
        assert len(after) == before + 1
        with pytest.raises(ReadError, match="did you mean 'email'"):
            files.rows(open_node, UNRESTRICTED, reader, "jsonl", ReadRequest(columns=("emial",)), None)
    finally:
        asyncio.run(open_node.stop())
