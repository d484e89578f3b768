"""The discovery port: everything needed to find, understand, trust and use a product, as DCAT 3.

The document is JSON-LD: ``dcat:DataService`` for the product, a ``dcat:Dataset`` per output
port and a ``dcat:Distribution`` per way to reach it, so generic catalogs can read it; hexmesh
specifics (SLOs, lineage, schema classifications) use the ``hexmesh:`` vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from sqlalchemy import func, select

from hexmesh.cache import BoundedCache
from hexmesh.infra.state import MajorState, from_us
from hexmesh.infra.state import schema as t
from hexmesh.infra.state.rulesets import check_of, rule_checks
from hexmesh.product.deployed import DeployedProduct, live_majors, live_versions, served_name
from hexmesh.product.examples import load_results
from hexmesh.product.files import FORMATS
from hexmesh.product.observability import port_health
from hexmesh.product.policy.revisions import policies_in_force
from hexmesh.product.ports import OutputPortReader
from hexmesh.product.runtime import Runtime
from hexmesh.product.sql.catalog import port_table_name
from hexmesh.spec import FieldSpec, inside

__all__ = ["CONTEXT", "STANDARDS", "Endpoints", "catalog_entry", "describe", "document_version"]

_LINKS = (
    "dcat:accessURL",
    "dcat:downloadURL",
    "dcat:endpointURL",
    "dct:conformsTo",
    "hexmesh:observability",
    "hexmesh:control",
)
_JSON = ("hexmesh:policies", "hexmesh:source", "hexmesh:slo", "hexmesh:checks", "hexmesh:catalog")
#: The product described in the open standards, each at ``/standards/<name>`` (content negotiation too).
STANDARDS = {
    "odps": ("Open Data Product Standard (ODPS) v1.0.0", "https://github.com/bitol-io/open-data-product-standard"),
    "odcs": ("Open Data Contract Standard (ODCS) v3.1.0", "https://github.com/bitol-io/open-data-contract-standard"),
    "dpds": ("Data Product Descriptor Specification (DPDS) 1.0.0", "https://dpds.opendatamesh.org"),
    "dcs": ("Data Contract Specification 1.2.1", "https://datacontract.com"),
}

#: JSON-LD 1.1: links are IRIs, times typed, and hexmesh's plain-JSON blocks (policies, source
#: settings, check results, SLO promises) are JSON literals, so the document is DCAT 3 as RDF too.
CONTEXT: dict[str, Any] = {
    "@version": 1.1,
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "hexmesh": "https://hexmesh.dev/ns#",
    **{term: {"@type": "@id"} for term in _LINKS},
    **{term: {"@type": "@json"} for term in _JSON},
    "dct:issued": {"@type": "xsd:dateTime"},
}
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


@dataclass(frozen=True)
class Endpoints:
    """Where this node serves things (the discovery document links to them)."""

    base_url: str
    sql_dsn: str | None = None

    def product(self, key: str) -> str:
        return f"{self.base_url}/products/{key}"


def catalog_entry(product: DeployedProduct, endpoints: Endpoints, path: str | None = None) -> dict[str, Any]:
    """The product's entry in the node's catalog; ``path`` names it in URLs (``domain/name@N`` for older majors)."""
    spec = product.spec
    path = path or product.key
    return {
        "@id": endpoints.product(path),
        "@type": "dcat:DataService",
        "dct:identifier": f"dp://{product.key}",
        "dct:title": spec.name,
        "dct:description": spec.description,
        "hexmesh:domain": spec.domain,
        "dcat:version": product.record.version,
        "hexmesh:lifecycle": spec.status,
        "hexmesh:major": product.record.major,
        "dcat:endpointURL": endpoints.product(path),
    }


def describe(
    runtime: Runtime, product: DeployedProduct, endpoints: Endpoints, lifecycle: str | None = None
) -> dict[str, Any]:
    """The discovery document of ``product`` (the newest version of one of its majors)."""
    spec = product.spec
    in_force = policies_in_force(runtime, product)  # a revision set over the control port, or the spec's
    path = served_name(runtime, product)
    document = {"@context": CONTEXT, **catalog_entry(product, endpoints, path)}
    document.update(
        {
            "hexmesh:lifecycle": lifecycle or spec.status,
            "dcat:keyword": spec.tags,
            "dct:publisher": {"@type": "foaf:Agent", "foaf:name": spec.owner},
            "dcat:contactPoint": [{"@type": "vcard:Kind", "vcard:hasEmail": c} for c in [spec.owner, *spec.contacts]],
            "hexmesh:readme": _readme(product),
            "hexmesh:versions": [
                {
                    "dcat:version": v.version,
                    "hexmesh:status": v.status,
                    "dct:issued": from_us(v.deployed_us).isoformat(),
                }
                for v in runtime.state.versions(product.key)
            ],
            "hexmesh:majors": _majors(runtime, product, endpoints),
            "dcat:servesDataset": [
                _dataset(runtime, product, port.name, endpoints, path) for port in spec.output_ports
            ],
            "hexmesh:lineage": {
                "hexmesh:inputPorts": [
                    {
                        "hexmesh:name": p.name,
                        "hexmesh:window": p.window,
                        "hexmesh:from": p.from_,
                        "hexmesh:source": p.source.model_dump(by_alias=True) if p.source else None,
                    }
                    for p in spec.input_ports
                ],
                "hexmesh:upstream": sorted({p.from_ for p in spec.input_ports if p.from_}),
            },
            "hexmesh:quality": _quality(runtime, product),
            **_examples(runtime, product),
            "hexmesh:access": {
                "hexmesh:policies": in_force.policies.access,
                "hexmesh:policySource": in_force.source,
                "hexmesh:policyRevision": in_force.revision,
                "hexmesh:howTo": f"Ask the owner ({spec.owner}) for access; reads are checked "
                "against the product's embedded access policies at every port.",
            },
            "hexmesh:governance": _governance(runtime, product),
            "hexmesh:observability": endpoints.product(path) + "/observability",
            "hexmesh:control": endpoints.product(path) + "/control",
            # The same product in the open standards, shaped for whoever asks (dct:hasFormat).
            "dct:hasFormat": [
                {
                    "@id": f"{endpoints.product(path)}/standards/{name}",
                    "dct:title": title,
                    "dct:conformsTo": home,
                }
                for name, (title, home) in STANDARDS.items()
            ],
        }
    )
    return document


def _examples(runtime: Runtime, product: DeployedProduct) -> dict[str, Any]:
    """Whether the README's examples passed when this version was deployed: counts for everyone who
    discovers the product, each block's detail (which may quote data) for its owners only."""
    results = load_results(runtime.storage, product.key, product.record.version)
    if not results:
        return {}
    counts = {status: sum(r.status == status for r in results) for status in ("passed", "failed", "not-run")}
    return {
        "hexmesh:examples": {
            "hexmesh:passed": counts["passed"],
            "hexmesh:failed": counts["failed"],
            "hexmesh:notRun": counts["not-run"],
        },
        "hexmesh:exampleResults": [
            {
                "hexmesh:line": r.line,
                "hexmesh:language": r.language,
                "hexmesh:status": r.status,
                "dct:description": r.detail,
            }
            for r in results
        ],
    }


def _governance(runtime: Runtime, product: DeployedProduct) -> dict[str, Any] | None:
    """The rule set this version was last checked against (at deploy, or when a new rule set arrived)."""
    check = check_of(runtime.state.db, product.key, product.record.version)
    if check is None:
        return None
    return {
        "@type": "hexmesh:RuleCheck",
        "hexmesh:ruleset": check.ruleset,
        "hexmesh:rulesetDigest": check.digest or None,
        "hexmesh:rulesetRevision": check.revision,
        "hexmesh:passed": check.passed,
        "dct:issued": from_us(check.checked_us).isoformat(),
        "hexmesh:blocking": check.blocking,
        "hexmesh:warnings": check.warnings,
    }


def _readme(product: DeployedProduct) -> str | None:
    path = inside(product.bundle, product.spec.docs)
    return None if path is None else _render(str(path))


@lru_cache(maxsize=2048)
def _render(path: str) -> str | None:
    """README as HTML; cached, because a deployed bundle never changes."""
    file = Path(path)
    if not file.is_file():
        return None
    return str(_MARKDOWN.render(file.read_text(encoding="utf-8")))


#: Table metadata locations by (table, newest published snapshot).
_LOCATIONS: BoundedCache[tuple[tuple[str, ...], int | None], str] = BoundedCache(10_000)


def _location(runtime: Runtime, reader: OutputPortReader) -> str:
    latest = reader.publication()
    key = (tuple(reader.record.table_id), latest.snapshot_id if latest else None)
    return _LOCATIONS.get_or_put(key, lambda: runtime.tables.location(reader.record.table_id))


def _quality(runtime: Runtime, product: DeployedProduct) -> list[dict[str, Any]]:
    return [
        {
            "hexmesh:run": run.id,
            "hexmesh:status": run.status,
            "dct:issued": from_us(run.started_us).isoformat(),
            "hexmesh:checks": [
                {k: c.get(k) for k in ("port", "check", "passed", "detail")} for c in run.details.get("checks", [])
            ],
        }
        for run in runtime.state.runs(product.key, limit=5)
    ]


def _field(field: FieldSpec) -> dict[str, Any]:
    return {
        "hexmesh:name": field.name,
        "hexmesh:logicalType": field.logical_type,
        "hexmesh:required": field.required,
        "dct:description": field.description,
        "hexmesh:classification": field.classification,
        "hexmesh:concept": {"@id": field.concept} if field.concept else None,
        "hexmesh:links": field.links,
    }


def _majors(runtime: Runtime, product: DeployedProduct, endpoints: Endpoints) -> list[dict[str, Any]]:
    """Every major of the product that still serves, with its state and where it is served."""
    states = runtime.state.major_states(product.key)
    newest = live_versions(runtime, product.key).get(product.key)
    return [
        {
            "@id": endpoints.product(
                product.key if newest and record.major == newest.major else f"{record.product}@{record.major}"
            ),
            "hexmesh:major": record.major,
            "dcat:version": record.version,
            "hexmesh:status": states[record.major].status if record.major in states else "active",
            # A deprecated major says until when it serves and what replaces it (as its HTTP headers do).
            **_retiring(states.get(record.major)),
        }
        for record in live_majors(runtime, product.key)
    ]


def _retiring(state: MajorState | None) -> dict[str, str]:
    if state is None or state.status != "deprecated":
        return {}
    found = {"hexmesh:sunset": state.sunset, "hexmesh:successor": state.successor}
    return {k: v for k, v in found.items() if v}


def _dataset(runtime: Runtime, product: DeployedProduct, port: str, endpoints: Endpoints, path: str) -> dict[str, Any]:
    reader = OutputPortReader(runtime, product, port)
    spec = reader.spec
    url = f"{endpoints.product(path)}/ports/{port}"
    table = ".".join(reader.record.table_id)
    newest = runtime.state.versions(product.key)[0].major
    sql_table = port_table_name(
        product.spec,
        port,
        major_suffix=None if product.record.major == newest else product.record.major,
    )
    health = port_health(reader)
    distributions: list[dict[str, Any]] = [
        {
            "@type": "dcat:Distribution",
            "dct:title": f"files ({fmt})",
            "dcat:downloadURL": f"{url}/data?format={fmt}",
            "dcat:mediaType": media,
        }
        for fmt, media in FORMATS.items()
    ]
    distributions += [
        {
            "@type": "dcat:Distribution",
            "dct:title": "snapshots",
            "dcat:accessURL": f"{url}/snapshots",
        },
        {
            "@type": "dcat:Distribution",
            "dct:title": "events (Server-Sent Events)",
            "dcat:accessURL": f"{url}/events",
            "dcat:mediaType": "text/event-stream",
        },
        {
            "@type": "dcat:Distribution",
            "dct:title": "events (WebSocket)",
            "dcat:accessURL": url.replace("http", "ws", 1) + "/events/ws",
        },
        {
            "@type": "dcat:Distribution",
            "dct:title": "Python",
            "hexmesh:snippet": f"import hexmesh\nport = hexmesh.connect({endpoints.base_url!r})"
            f".product({path!r}).port({port!r})\ntable = port.read()",
        },
        {
            "@type": "dcat:Distribution",
            "dct:title": "Apache Iceberg table",
            "dcat:accessURL": _location(runtime, reader),
            "hexmesh:catalog": {
                "hexmesh:type": "sql",
                "hexmesh:name": runtime.settings.catalog_name,
                "hexmesh:table": table,
            },
            "dct:description": f"Read published snapshots only: the snapshot ids are listed at {url}/snapshots",
        },
    ]
    if endpoints.sql_dsn:
        distributions.append(
            {
                "@type": "dcat:Distribution",
                "dct:title": "SQL (PostgreSQL protocol)",
                "dcat:accessURL": endpoints.sql_dsn,
                "hexmesh:table": sql_table,
            }
        )
    return {
        "@id": url,
        "@type": "dcat:Dataset",
        "dct:identifier": reader.address,
        "dct:title": port,
        "dct:description": spec.description,
        "hexmesh:mode": spec.mode,
        "hexmesh:eventTime": spec.event_time,
        "hexmesh:primaryKey": spec.primary_key,
        "hexmesh:schema": [_field(f) for f in spec.properties],
        "hexmesh:slo": spec.slo.model_dump(by_alias=True, exclude_none=True) if spec.slo else {},
        "hexmesh:sloStatus": {
            "hexmesh:status": health.status,
            "hexmesh:checks": [c.__dict__ for c in health.checks],
        },
        "dcat:distribution": distributions,
    }


def document_version(runtime: Runtime, key: str) -> tuple[Any, ...] | None:
    """What the discovery document of ``key`` is built from, in one query; None for no such product.

    The key changes on every deploy (versions), deprecation or retirement (majors), publication,
    run start or end (quality), and governance check; a cache of documents compares it to know
    whether a document is still true. Time-based SLO status and the control port's state
    (lifecycle, policies) are the caller's to add.
    """
    domain, _, name = key.partition("/")
    product = select(t.products.c.id).where(t.products.c.domain == domain, t.products.c.name == name).scalar_subquery()
    versions, majors, ports, runs, pubs = t.versions, t.majors, t.ports, t.runs, t.publications

    def scalar(column: Any, table: Any, *where: Any) -> Any:
        return select(column).select_from(table).where(*where).scalar_subquery()

    query = select(
        product,
        scalar(func.count(), versions, versions.c.product_id == product),
        scalar(func.max(versions.c.id), versions, versions.c.product_id == product),
        scalar(func.count(), majors, majors.c.product_id == product),
        scalar(func.max(majors.c.updated_us), majors, majors.c.product_id == product),
        scalar(func.max(pubs.c.id), pubs.join(ports, ports.c.id == pubs.c.port_id), ports.c.product_id == product),
        scalar(func.count(), runs, runs.c.product_id == product),
        scalar(func.max(runs.c.started_us), runs, runs.c.product_id == product),
        scalar(func.max(runs.c.finished_us), runs, runs.c.product_id == product),
        scalar(func.max(rule_checks.c.checked_us), rule_checks, rule_checks.c.product == key),
        scalar(func.max(t.policy_revisions.c.id), t.policy_revisions, t.policy_revisions.c.product == key),
    )
    with runtime.state.db.connect() as conn:
        row = conn.execute(query).one()
    return None if row[0] is None else tuple(row)
