"""The mesh as OpenMetadata entity requests: the bodies of its REST API's create calls, in order.

OpenMetadata has no generic file source; its ingestion SDK and REST API take these bodies:
domains (``CreateDomainRequest``), a database service ``hexmesh`` with one database per domain and
one schema per product, a table per output port (``CreateTableRequest``: columns, constraints,
owners, domains, tags), data products (``CreateDataProductRequest``), and lineage edges by fully
qualified name (``PUT /api/v1/lineage/table/name/{from}/table/name/{to}``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hexmesh.spec import DataProductSpec, FieldSpec, parse_address

__all__ = ["DATA_TYPES", "SERVICE", "mesh_requests"]

SERVICE = "hexmesh"
#: hexmesh logical types → OpenMetadata column ``dataType`` (its DataType enum).
DATA_TYPES = {
    "string": "STRING",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "decimal": "DECIMAL",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "time": "TIME",
    "binary": "BINARY",
}


def _column(field: FieldSpec, key: list[str]) -> dict[str, Any]:
    column: dict[str, Any] = {
        "name": field.name,
        "dataType": DATA_TYPES[field.logical_type],
        "dataTypeDisplay": field.physical_type or field.logical_type,
        "description": field.description,
    }
    if field.logical_type == "decimal":
        column["precision"], column["scale"] = field.precision or 38, field.scale or 0
    if key == [field.name]:
        column["constraint"] = "PRIMARY_KEY"
    elif field.required:
        column["constraint"] = "NOT_NULL"
    elif field.unique:
        column["constraint"] = "UNIQUE"
    if field.classification or field.tags:
        column["tags"] = _labels(
            [*([f"classification.{field.classification}"] if field.classification else []), *field.tags]
        )
    return column


def _labels(tags: Iterable[str]) -> list[dict[str, str]]:
    return [
        {
            "tagFQN": t if "." in t else f"hexmesh.{t}",
            "source": "Classification",
            "labelType": "Manual",
            "state": "Confirmed",
        }
        for t in tags
    ]


def _owners(spec: DataProductSpec) -> list[dict[str, str]]:
    return [{"type": "user", "name": spec.owner}]


def mesh_requests(specs: Iterable[DataProductSpec]) -> dict[str, list[dict[str, Any]]]:
    """Request bodies per kind, in the order they must be sent (lineage needs its tables)."""
    ordered = sorted(specs, key=lambda s: s.key)
    domains = sorted({s.domain for s in ordered})
    found: dict[str, list[dict[str, Any]]] = {
        "domains": [
            {"name": d, "domainType": "Aggregate", "description": f"The {d} domain of the hexmesh mesh."}
            for d in domains
        ],
        "databaseServices": [
            {"name": SERVICE, "serviceType": "CustomDatabase", "description": "hexmesh data products (Iceberg ports)"}
        ],
        "databases": [{"name": d, "service": SERVICE, "domains": [d]} for d in domains],
        "databaseSchemas": [],
        "tables": [],
        "dataProducts": [],
        "lineage": [],
    }
    for spec in ordered:
        schema = f"{SERVICE}.{spec.domain}.{spec.name}"
        found["databaseSchemas"].append(
            {"name": spec.name, "database": f"{SERVICE}.{spec.domain}", "description": spec.description}
        )
        tables = []
        for port in spec.output_ports:
            table: dict[str, Any] = {
                "name": port.name,
                "databaseSchema": schema,
                "description": port.description or spec.description,
                "tableType": "Iceberg",
                "columns": [_column(f, port.primary_key) for f in port.properties],
                "owners": _owners(spec),
                "domains": [spec.domain],
                "tags": _labels([*spec.tags, *port.tags]),
                "sourceUrl": f"dp://{spec.key}/{port.name}",
            }
            if len(port.primary_key) > 1:
                table["tableConstraints"] = [{"constraintType": "PRIMARY_KEY", "columns": list(port.primary_key)}]
            found["tables"].append(table)
            tables.append(f"{schema}.{port.name}")
        found["dataProducts"].append(
            {
                "name": f"{spec.domain}.{spec.name}",
                "displayName": spec.name,
                "description": spec.description or spec.name,
                "domains": [spec.domain],
                "owners": _owners(spec),
                "assets": [{"type": "table", "fullyQualifiedName": t} for t in tables],
            }
        )
        for source in spec.input_ports:
            if source.from_ is None:
                continue
            address = parse_address(source.from_)
            upstream = f"{SERVICE}.{address.domain}.{address.product}.{address.port}"
            for table_fqn in tables:
                found["lineage"].append(
                    {
                        "fromEntity": {"type": "table", "fullyQualifiedName": upstream},
                        "toEntity": {"type": "table", "fullyQualifiedName": table_fqn},
                        "description": f"input port {source.name} of dp://{spec.key}",
                    }
                )
    return found
