"""OpenLineage run events (START, COMPLETE, FAIL) for data product runs, as plain dicts.

Datasets are named by hexmesh names, in the node's namespace: a port by its address
(``dp://podcasts/play-events/plays``), so the output of one product and the input of the next are
the same dataset for Marquez or DataHub; an operational source (files, a database) by
``<domain>/<product>/<input port>``, never by its path, bucket, host or DSN: events go to a lineage
backend that people without a grant read, and where data comes from is the owner's to know (ADR
0032). A failure event carries the error
and the names of the checks that failed, never example rows, values or a stack trace. Output
ports carry schema, ownership, documentation, column lineage,
data-quality assertions and hexmesh's data-mesh governance facet (``hexmesh_governance``, JSON
Schema in ``hexmesh/mesh/schemas``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hexmesh.mesh.lineage import ColumnLineage, LineageError, product_column_lineage
from hexmesh.spec import DataProductSpec, inside, parse_address

if TYPE_CHECKING:
    from hexmesh.product.quality import CheckResult

__all__ = [
    "GOVERNANCE_SCHEMA",
    "PRODUCER",
    "batch_event",
    "error_facet",
    "parent_facet",
    "port_dataset",
    "run_event",
    "source_dataset",
]

try:
    _VERSION = version("hexmesh")
except PackageNotFoundError:  # running from a source tree that was never installed
    _VERSION = "0.0.0"
PRODUCER = f"https://github.com/hexmesh/hexmesh/tree/v{_VERSION}"
_OL = "https://openlineage.io/spec"
_EVENT_SCHEMA = f"{_OL}/2-0-2/OpenLineage.json#/$defs/RunEvent"
#: The JSON Schema of the governance facet, shipped in the package.
GOVERNANCE_SCHEMA = Path(__file__).parent / "schemas" / "HexmeshGovernanceDatasetFacet.json"
_FACETS = {
    "schema": "1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
    "ownership": "1-0-1/OwnershipDatasetFacet.json#/$defs/OwnershipDatasetFacet",
    "jobOwnership": "1-0-1/OwnershipJobFacet.json#/$defs/OwnershipJobFacet",
    "documentation": "1-1-0/DocumentationDatasetFacet.json#/$defs/DocumentationDatasetFacet",
    "columnLineage": "1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet",
    "dataQualityAssertions": "1-1-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet",
    "outputStatistics": "1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet",
    "errorMessage": "1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
    "parent": "1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet",
    "jobType": "2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
    "sql": "1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet",
    "processing_engine": "1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet",
    "dataSource": "1-0-1/DatasourceDatasetFacet.json#/$defs/DatasourceDatasetFacet",
}


def _facet(kind: str, **content: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"{_OL}/facets/{_FACETS[kind]}", **content}


def parent_facet(run_id: str, namespace: str, job: str) -> dict[str, Any]:
    return _facet("parent", run={"runId": run_id}, job={"namespace": namespace, "name": job})


def batch_event(
    event_type: str,
    run_id: str,
    *,
    namespace: str,
    job: str = "run-all",
    failed: list[str] | None = None,
    event_time: datetime | None = None,
) -> dict[str, Any]:
    """The event of a run of every product (``hexmesh run --all``): the parent of each product's run."""
    facets: dict[str, Any] = {"processing_engine": _facet("processing_engine", name="hexmesh", version=_VERSION)}
    if failed:
        message = f"{len(failed)} product(s) failed: {', '.join(failed)}"
        facets["errorMessage"] = _facet("errorMessage", message=message, programmingLanguage="python")
    return {
        "eventType": event_type,
        "eventTime": (event_time or datetime.now(UTC)).isoformat(),
        "producer": PRODUCER,
        "schemaURL": _EVENT_SCHEMA,
        "run": {"runId": run_id, "facets": facets},
        "job": {
            "namespace": namespace,
            "name": job,
            "facets": {"jobType": _facet("jobType", processingType="BATCH", integration="HEXMESH", jobType="DAG")},
        },
        "inputs": [],
        "outputs": [],
    }


def _governance(spec: DataProductSpec, port: str) -> dict[str, Any]:
    declared = spec.output(port)
    assert declared is not None
    return {
        "_producer": PRODUCER,
        "_schemaURL": "https://hexmesh.dev/spec/facets/1-0-0/HexmeshGovernanceDatasetFacet.json"
        "#/$defs/HexmeshGovernanceDatasetFacet",
        "domain": spec.domain,
        "product": spec.name,
        "version": spec.version,
        "status": spec.status,
        "address": f"dp://{spec.domain}/{spec.name}/{port}",
        "classifications": {f.name: f.classification for f in declared.properties if f.classification},
        "concepts": {f.name: f.concept for f in declared.properties if f.concept},
        "slo": declared.slo.model_dump(exclude_none=True) if declared.slo else {},
        "policies": {"access": len(spec.policies.access), "privacy": len(spec.policies.privacy)},
    }


def _owners(spec: DataProductSpec) -> list[dict[str, str]]:
    return [
        {"name": spec.owner, "type": "OWNER"},
        *({"name": c, "type": "CONTACT"} for c in spec.contacts),
    ]


def port_dataset(address: str) -> str:
    """A port's dataset name: its ``dp://`` address without ``@major`` (both sides of an edge agree)."""
    parsed = parse_address(address)
    return f"dp://{parsed.domain}/{parsed.product}" + (f"/{parsed.port}" if parsed.port else "")


def source_dataset(spec: DataProductSpec, port: str) -> str:
    """An operational source's dataset name: ``<domain>/<product>/<input port>``, in the node's
    namespace. The OpenLineage naming spec would name it by its path or DSN; that is where the
    owner's data lives, so hexmesh keeps it out of every event (ADR 0032)."""
    return f"{spec.domain}/{spec.name}/{port}"


def _inputs(spec: DataProductSpec, namespace: str) -> tuple[list[dict[str, Any]], dict[str, tuple[str, str]]]:
    """Input datasets, and each input port's (namespace, name) for column lineage."""
    datasets: list[dict[str, Any]] = []
    names: dict[str, tuple[str, str]] = {}
    for port in spec.input_ports:
        if port.from_ is not None:
            ident = (namespace, port_dataset(port.from_))
            datasets.append({"namespace": ident[0], "name": ident[1], "facets": {}})
        else:
            ident = (namespace, source_dataset(spec, port.name))
            facets = {"dataSource": _facet("dataSource", name=port.name)}
            datasets.append({"namespace": ident[0], "name": ident[1], "facets": facets})
        names[port.name] = ident
    return datasets, names


def _column_facet(lineage: list[ColumnLineage], names: dict[str, tuple[str, str]]) -> dict[str, Any]:
    fields = {}
    for column in lineage:
        inputs = [
            {
                "namespace": names[s.input][0],
                "name": names[s.input][1],
                "field": s.column,
                "transformations": [{"type": "DIRECT", "subtype": column.kind}],
            }
            for s in column.sources
            if s.input in names
        ]
        fields[column.output] = {"inputFields": inputs}
    return _facet("columnLineage", fields=fields)


def _assertions(checks: list[Any], port: str, *, details: bool = True) -> dict[str, Any]:
    """Each check's name, kind and outcome; its detail only for a run that published (no values of a failure)."""
    items = []
    for check in checks:
        if check.port != port:
            continue
        item: dict[str, Any] = {
            "assertion": check.kind,
            "success": check.passed,
            "name": check.check,
        }
        item["severity"] = "error"  # every hexmesh check gates publication
        inside = check.check.partition("(")[2].rstrip(")")
        if inside and "," not in inside:
            item["column"] = inside
        if details and check.detail:
            item["description"] = check.detail
        items.append(item)
    return _facet("dataQualityAssertions", assertions=items)


_QUOTED = re.compile(r"""(['"])(?:(?!\1).){1,200}\1""")


def error_facet(error: BaseException) -> dict[str, Any]:
    """What failed, without data: the error's kind and first line, quoted values blanked, the failing
    checks by name. Example rows (the quality gate's message lists some), values in a conversion error
    and stack traces (whose messages repeat them) stay in the run record, readable by the owner."""
    failed = [f"{c.port}: {c.check}" for c in getattr(error, "checks", ()) if not c.passed]
    first = (str(error).splitlines() or [type(error).__name__])[0]
    blanked = _QUOTED.sub("'…'", first)
    message = f"{type(error).__name__}: {blanked}"
    if failed:
        message += " Failed checks: " + "; ".join(failed)
    return _facet("errorMessage", message=message, programmingLanguage="python")


def run_event(
    event_type: str,
    spec: DataProductSpec,
    run_id: str,
    *,
    namespace: str = "hexmesh",
    bundle: Path | None = None,
    rows: dict[str, int] | None = None,
    checks: list[CheckResult] | None = None,
    error: BaseException | None = None,
    docs: str = "",
    event_time: datetime | None = None,
    parent: tuple[str, str, str] | None = None,
) -> dict[str, Any]:
    """One OpenLineage RunEvent for a run of ``spec``; ``bundle`` holds its SQL files; ``parent`` is the
    ``(run id, namespace, job name)`` of the run that started this one (``hexmesh run --all``)."""
    inputs, names = _inputs(spec, namespace)
    try:
        columns = product_column_lineage(spec, bundle) if bundle else {}
    except (LineageError, OSError):
        columns = {}  # lineage is best effort: SQL that sqlglot cannot follow still runs
    outputs = []
    for port in spec.output_ports:
        facets: dict[str, Any] = {
            "schema": _facet(
                "schema",
                fields=[
                    {
                        "name": f.name,
                        "type": f.logical_type,
                        "description": f.description,
                        "ordinal_position": i,
                    }
                    for i, f in enumerate(port.properties, 1)
                ],
            ),
            "ownership": _facet("ownership", owners=_owners(spec)),
            "hexmesh_governance": _governance(spec, port.name),
        }
        if port.description or docs:
            facets["documentation"] = _facet(
                "documentation", description=port.description or docs, contentType="text/markdown"
            )
        if port.name in columns:
            facets["columnLineage"] = _column_facet(columns[port.name], names)
        failing = list(getattr(error, "checks", ())) if error is not None else []
        if checks or failing:
            facets["dataQualityAssertions"] = _assertions(checks or failing, port.name, details=error is None)
        dataset: dict[str, Any] = {
            "namespace": namespace,
            "name": f"dp://{spec.domain}/{spec.name}/{port.name}",
            "facets": facets,
        }
        if rows and port.name in rows:
            dataset["outputFacets"] = {"outputStatistics": _facet("outputStatistics", rowCount=rows[port.name])}
        outputs.append(dataset)
    run_facets: dict[str, Any] = {"processing_engine": _facet("processing_engine", name="hexmesh", version=_VERSION)}
    if error is not None:
        run_facets["errorMessage"] = error_facet(error)
    if parent is not None:
        run_facets["parent"] = parent_facet(*parent)
    job_facets: dict[str, Any] = {
        "jobType": _facet("jobType", processingType="BATCH", integration="HEXMESH", jobType="DATA_PRODUCT"),
        "ownership": _facet("jobOwnership", owners=_owners(spec)),
    }
    sql = spec.transformation.sql if spec.transformation else None
    file = inside(bundle, sql) if bundle and isinstance(sql, str) else None
    if file is not None and file.is_file():
        job_facets["sql"] = _facet("sql", query=file.read_text(encoding="utf-8"), dialect="duckdb")
    return {
        "eventType": event_type,
        "eventTime": (event_time or datetime.now(UTC)).isoformat(),
        "producer": PRODUCER,
        "schemaURL": _EVENT_SCHEMA,
        "run": {"runId": run_id, "facets": run_facets},
        "job": {"namespace": namespace, "name": f"{spec.domain}/{spec.name}", "facets": job_facets},
        "inputs": inputs,
        "outputs": outputs,
    }
