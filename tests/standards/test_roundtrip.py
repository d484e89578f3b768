"""Every document in shared/standards imports to a valid hexmesh product and exports back to a document
that validates against the same JSON Schema, keeping ports, schemas, SLAs, quality rules, owners,
roles and tags; what it adds or changes is only what docs/standards.md says it does."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from hexmesh.errors import SpecError
from hexmesh.lifecycle import Workspace
from hexmesh.lifecycle.importing import spec_text
from hexmesh.spec import parse_spec
from hexmesh.standards import Notes, Options, export_documents, import_documents, standard_of, validate_document
from hexmesh.standards.dpds import resolve, unwrap
from hexmesh.standards.imported import read_source
from tests.standards.aspects import ASPECTS, aspects, covers, differences
from tests.standards.material import STANDARDS

#: Documents the import refuses, with the message that says why (each at file:line:col).
REFUSED = {
    "datacontract-cli-fixtures/tests/fixtures/lint/invalid.odcs.yaml": [r":1:1: missing required key 'status'"],
    "datacontract-cli-fixtures/tests/fixtures/lint/invalid_multiple_errors.odcs.yaml": [
        r":1:1: missing required key 'version'",
        r":1:1: missing required key 'status'",
    ],
    "datacontract-cli-fixtures/tests/fixtures/lint/odcs_with_extra_top_level.yaml": [
        r":7:1: unknown key 'change_management'"
    ],
    "datacontract-cli-fixtures/tests/fixtures/lint/invalid_multiple_schema_errors.odcs.yaml": [
        r":10:17: schema\[0\]\.description: None is not of type 'string'"
    ],
    "datacontract-cli-fixtures/tests/fixtures/lint/invalid_datacontract.yaml": [r":1:1: missing required key 'id'"],
    # ODCS 2 names in an ODCS 3 document.
    "datacontract-cli-fixtures/tests/fixtures/postgres/odcs.yaml": [r":17:5: unknown key 'isNullable'"],
    "datacontract-cli-fixtures/tests/fixtures/postgres/servicelevels.odcs.yaml": [r":18:5: unknown key 'isUnique'"],
    # ODCS's own example: a soda rule on columns its schema does not declare cannot run.
    "odcs/examples/quality/column-custom.odcs.yaml": [r":22:9: quality rule names carrier, shipment_numer"],
}
#: Keys a round trip may add: hexmesh always writes a product's identity, owner, stored types and ports.
ADDED = re.compile(
    r"^ADDED (\.(domain|dataProduct|name|team|version|managementPorts)"
    r"|.*\.(primaryKeyPosition|logicalType|physicalType)"
    r"|\.schema\[\d+\]\.properties\[\d+\]\.tags"  # the data subject hexmesh tags on restricted fields
    r"|\.models\.\w+\.fields\.\w+\.\w+"  # a field's $ref written out (DCS), and its subject tag
    r"|\.models\.\w+\.primaryKey"
    r"|\.info\.name|\.interfaceComponents\.\w+Ports.*)$"
)
#: Documented repairs: keys ODCS v3.1.0 forbids on a server type, moved into its customProperties.
REPAIRED = re.compile(r"^(LOST \.servers\[\d+\]\.delimiter|ADDED \.servers\[\d+\]\.customProperties)$")


def documents() -> list[str]:
    if STANDARDS is None:
        return ["<no shared/standards>"]
    found = []
    for path in sorted(STANDARDS.rglob("*")):
        if path.suffix not in (".yaml", ".yml", ".json") or "schema" in path.parent.name:
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            continue
        if standard_of(data) is not None:
            found.append(str(path.relative_to(STANDARDS)))
    return found


DOCUMENTS = documents()
OPTIONS = Options(domain="examples", owner="examples-team@example.com")


def _source(standards: Path, relative: str) -> Path:
    return standards / relative


def test_every_document_is_covered() -> None:
    assert STANDARDS is not None, "shared/standards is missing"
    assert len(DOCUMENTS) >= 60
    assert set(REFUSED) <= set(DOCUMENTS)


@pytest.mark.parametrize("relative", [d for d in DOCUMENTS if d not in REFUSED])
def test_imports_and_exports_back(standards: Path, workspace: Workspace, tmp_path: Path, relative: str) -> None:
    path = _source(standards, relative)
    source = read_source(path)
    (imported,) = import_documents([path], OPTIONS)
    # The product validates alone and as a mesh, written as `hexmesh import` writes it.
    outcomes = workspace.import_documents([path], tmp_path, domain="examples", owner="examples-team@example.com")
    assert [o.product for o in outcomes] == [imported.spec.key]
    parse_spec(spec_text(imported), "dataproduct.yaml")
    fmt = "odps" if source.standard == "odps" else source.standard
    exported = export_documents(imported.spec, fmt)
    document = next(d for name, d in exported.items() if standard_of(d) == source.standard)
    assert validate_document(document, relative) == []
    original: dict[str, Any] = source.data
    if source.standard == "dpds":
        root = path.parent.resolve()
        original = resolve(original, root, root)
        interface = original.get("interfaceComponents") or {}
        for kind, ports in interface.items():  # a port file that is a whole descriptor: its one port
            interface[kind] = [unwrap(p, kind, Notes()) for p in ports]
    if relative.endswith("schema-evolution/odcs-datacontract-cities-version-2.yaml"):
        original = {
            **original,
            "servers": [{k: v for k, v in s.items() if k != "delimiter"} for s in original["servers"]],
        }
    kept = aspects(source.standard, original)
    back = aspects(source.standard, document)
    for aspect in ASPECTS:
        if source.standard == "dpds" and aspect == "ports":
            # hexmesh declares its discovery, observability and control ports where a descriptor has none.
            assert {k: v for k, v in back[aspect].items() if k in kept[aspect]} == kept[aspect], aspect
            continue
        assert covers(back[aspect], kept[aspect]), f"{aspect} of {relative} not kept"
    unexplained = [d for d in differences(original, document) if not (ADDED.match(d) or REPAIRED.match(d))]
    assert unexplained == [], unexplained


@pytest.mark.parametrize("relative", sorted(REFUSED))
def test_invalid_documents_are_refused_with_their_errors(standards: Path, relative: str) -> None:
    path = _source(standards, relative)
    with pytest.raises(SpecError) as caught:
        import_documents([path], OPTIONS)
    problems = [str(p) for p in caught.value.problems]
    for expected in REFUSED[relative]:
        assert any(re.search(re.escape(str(path)) + expected, p) for p in problems), (expected, problems)


def test_two_errors_at_once_are_both_reported(standards: Path) -> None:
    path = standards / "datacontract-cli-fixtures/tests/fixtures/lint/invalid_multiple_errors.odcs.yaml"
    with pytest.raises(SpecError) as caught:
        import_documents([path], OPTIONS)
    assert len(caught.value.problems) == 2


def test_yaml_dates_stay_strings(standards: Path) -> None:
    (imported,) = import_documents([standards / "odcs/examples/all/full-example.odcs.yaml"], OPTIONS)
    (contract,) = export_documents(imported.spec, "odcs").values()
    assert contract["contractCreatedTs"] == "2022-11-15T02:59:43+00:00"
    members = contract["team"]["members"]
    assert members[0]["dateIn"] == "2022-08-02" and isinstance(members[0]["dateIn"], str)
    text = spec_text(imported)
    assert "'2022-10-03'" in text  # quoted in the spec, so every YAML reader keeps it a string
