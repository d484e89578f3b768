"""Open standards in and out: ODPS, ODCS, DPDS and the Data Contract Specification.

:func:`import_documents` turns documents into hexmesh products (what hexmesh has no key for is
kept in ``customProperties`` and listed); :func:`export_documents` writes a product in one of
the standards; every document read or written is checked against the standard's JSON Schema,
shipped with hexmesh (no network). See docs/standards.md and docs/adr/0013.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from hexmesh.errors import ProblemLocation, SpecError, SpecProblem
from hexmesh.spec import DataProductSpec
from hexmesh.spec.loader import Marks
from hexmesh.standards import dcs, dpds, odcs, odps
from hexmesh.standards.imported import Imported, Notes, Options, read_source
from hexmesh.standards.kinds import STANDARDS, Standard, standard_of
from hexmesh.standards.schemas import schema_problems

__all__ = [
    "FORMATS",
    "STANDARDS",
    "ExportFormat",
    "Imported",
    "Notes",
    "Options",
    "Standard",
    "dump_document",
    "export_documents",
    "import_documents",
    "standard_of",
    "validate_document",
]

ExportFormat = Literal["odps", "odcs", "dpds", "dcs"]
FORMATS: tuple[str, ...] = get_args(ExportFormat)


def import_documents(paths: Sequence[Path], options: Options | None = None) -> list[Imported]:
    """The products the documents describe: an ODPS product takes the ODCS contracts given with it;
    each other document is a product of its own. SpecError lists every problem, located."""
    options = options or Options()
    sources = [read_source(Path(p)) for p in paths]
    products = [s for s in sources if s.standard == "odps"]
    contracts = [s for s in sources if s.standard == "odcs"]
    if len(products) > 1:
        raise SpecError(
            [SpecProblem(ProblemLocation(str(s.file), 1, 1), "one ODPS product per import", "") for s in products[1:]]
        )
    found: list[Imported] = []
    if products:
        found.append(odps.import_product(products[0], contracts, options))
        contracts = []
    for source in sources:
        if source.standard == "odcs" and source in contracts:
            found.append(odcs.import_contract(source, options))
        elif source.standard == "dcs":
            found.append(dcs.import_contract(source, options))
        elif source.standard == "dpds":
            found.append(dpds.import_descriptor(source, options))
    return found


def export_documents(
    spec: DataProductSpec,
    fmt: ExportFormat,
    *,
    base_url: str | None = None,
    upstream: dict[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """File name → document of ``spec`` in ``fmt``; each validated against its standard's schema.

    ``odps``: the product and one ODCS contract per output port; ``odcs``: one contract with every
    port; ``dpds``: one descriptor; ``dcs``: one Data Contract Specification document.
    """
    if fmt == "odps":
        documents = odps.export_bundle(spec, base_url=base_url, upstream=upstream)
    elif fmt == "odcs":
        documents = {f"{spec.name}.odcs.yaml": odcs.export_contract(spec)}
    elif fmt == "dpds":
        documents = {f"{spec.name}.dpds.json": dpds.export_descriptor(spec)}
    elif fmt == "dcs":
        documents = {f"{spec.name}.datacontract.yaml": dcs.export_contract(spec)}
    else:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    problems = [p for name, doc in documents.items() for p in validate_document(doc, name)]
    if problems:  # a bug of hexmesh's, not of the product: say what broke
        raise SpecError(problems)
    return documents


def validate_document(document: dict[str, Any], name: str) -> list[SpecProblem]:
    """Problems of a document against its standard's schema (recognised from its keys)."""
    standard = standard_of(document)
    if standard is None:
        return [SpecProblem(ProblemLocation(name, 1, 1), "not a document of a known standard", "")]
    return schema_problems(standard, document, Marks(name))


def dump_document(name: str, document: dict[str, Any]) -> str:
    """The text of a document: JSON for ``.json`` names, else YAML (dates written as quoted strings)."""
    if name.endswith(".json"):
        import json

        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
