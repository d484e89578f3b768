"""The mesh as DataHub metadata change proposals: the JSON its ``file`` source ingests.

Each domain is a DataHub domain; each output port a dataset on the ``hexmesh`` platform
(``domain.product.port``) with its properties, schema, owner, domain, tags and upstream lineage
(the ports and sources of its product's inputs); each product a data product holding its
ports. Aspects are serialized as DataHub's file source reads them (``aspect.value`` JSON).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from hexmesh.spec import DataProductSpec, OutputPort, parse_address

__all__ = ["PLATFORM", "dataset_urn", "mesh_proposals"]

PLATFORM = "hexmesh"
_TYPES = {
    "string": "StringType",
    "integer": "NumberType",
    "number": "NumberType",
    "decimal": "NumberType",
    "boolean": "BooleanType",
    "date": "DateType",
    "timestamp": "TimeType",
    "time": "TimeType",
    "binary": "BytesType",
}
_NOBODY = {"time": 0, "actor": "urn:li:corpuser:unknown"}


def dataset_urn(platform: str, name: str, env: str = "PROD") -> str:
    return f"urn:li:dataset:(urn:li:dataPlatform:{platform},{name},{env})"


def _port_urn(domain: str, product: str, port: str, env: str) -> str:
    return dataset_urn(PLATFORM, f"{domain}.{product}.{port}", env)


def _proposal(entity: str, urn: str, aspect: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "entityType": entity,
        "entityUrn": urn,
        "changeType": "UPSERT",
        "aspectName": aspect,
        "aspect": {"value": json.dumps(value, sort_keys=True), "contentType": "application/json"},
    }


def _owner(spec: DataProductSpec) -> dict[str, Any]:
    owners = [{"owner": f"urn:li:corpuser:{spec.owner}", "type": "DATAOWNER"}]
    owners += [{"owner": f"urn:li:corpuser:{c}", "type": "TECHNICAL_OWNER"} for c in spec.contacts]
    return {"owners": owners, "ownerTypes": {}, "lastModified": _NOBODY}


def _tags(tags: Iterable[str]) -> dict[str, Any]:
    return {"tags": [{"tag": f"urn:li:tag:{t}"} for t in tags]}


def _schema(port: OutputPort) -> dict[str, Any]:
    return {
        "schemaName": port.name,
        "platform": f"urn:li:dataPlatform:{PLATFORM}",
        "version": 0,
        "created": _NOBODY,
        "lastModified": _NOBODY,
        "hash": "",
        "platformSchema": {"com.linkedin.schema.OtherSchema": {"rawSchema": ""}},
        "fields": [
            {
                "fieldPath": f.name,
                "nullable": not f.required,
                "description": f.description,
                "type": {"type": {f"com.linkedin.schema.{_TYPES[f.logical_type]}": {}}},
                "nativeDataType": f.physical_type or f.logical_type,
                "recursive": False,
                "isPartOfKey": f.name in port.primary_key,
            }
            for f in port.properties
        ],
    }


def _upstreams(spec: DataProductSpec, env: str) -> list[str]:
    found = []
    for port in spec.input_ports:
        if port.from_ is not None:
            address = parse_address(port.from_)
            found.append(_port_urn(address.domain, address.product, str(address.port), env))
        elif port.source is not None and getattr(port.source, "postgres", None):
            url = urlsplit(str(getattr(port.source, "postgres", "")))
            table = port.source.path if port.source.path != "query" else f"query.{port.name}"
            found.append(dataset_urn("postgres", f"{url.path.lstrip('/')}.{table}", env))
        elif port.source is not None and getattr(port.source, "database", None):
            # The scheme written first (a ${VAR:-default}'s default included) names the platform.
            scheme = re.search(r"(postgresql|postgres|sqlite)://", str(getattr(port.source, "database", "")))
            platform = "sqlite" if scheme is not None and scheme.group(1) == "sqlite" else "postgres"
            table = port.source.path if port.source.path != "query" else f"query.{port.name}"
            found.append(dataset_urn(platform, table, env))
        elif port.source is not None:
            found.append(dataset_urn("file", str(port.source.path), env))
    return found


def mesh_proposals(
    specs: Iterable[DataProductSpec], *, env: str = "PROD", base_url: str | None = None
) -> list[dict[str, Any]]:
    """Every domain, data product and output port of the mesh, with schemas, owners and lineage."""
    proposals: list[dict[str, Any]] = []
    domains: set[str] = set()
    for spec in sorted(specs, key=lambda s: s.key):
        domain = f"urn:li:domain:{spec.domain}"
        if spec.domain not in domains:
            domains.add(spec.domain)
            proposals.append(
                _proposal("domain", domain, "domainProperties", {"customProperties": {}, "name": spec.domain})
            )
        upstreams = _upstreams(spec, env)
        assets = []
        for port in spec.output_ports:
            urn = _port_urn(spec.domain, spec.name, port.name, env)
            assets.append({"destinationUrn": urn, "outputPort": True})
            properties = {
                "customProperties": {"address": f"dp://{spec.key}/{port.name}", "version": spec.version},
                "name": port.name,
                "description": port.description or spec.description,
                "tags": [],
            }
            if base_url:
                properties["externalUrl"] = f"{base_url.rstrip('/')}/products/{spec.key}/ports/{port.name}"
            proposals += [
                _proposal("dataset", urn, "datasetProperties", properties),
                _proposal("dataset", urn, "schemaMetadata", _schema(port)),
                _proposal("dataset", urn, "ownership", _owner(spec)),
                _proposal("dataset", urn, "domains", {"domains": [domain]}),
                _proposal("dataset", urn, "globalTags", _tags([*spec.tags, *port.tags])),
            ]
            if upstreams:
                lineage = [{"auditStamp": _NOBODY, "dataset": u, "type": "TRANSFORMED"} for u in upstreams]
                proposals.append(_proposal("dataset", urn, "upstreamLineage", {"upstreams": lineage}))
        product = f"urn:li:dataProduct:{spec.domain}.{spec.name}"
        proposals += [
            _proposal(
                "dataProduct",
                product,
                "dataProductProperties",
                {
                    "customProperties": {"address": f"dp://{spec.key}", "version": spec.version, "status": spec.status},
                    "name": spec.name,
                    "description": spec.description,
                    "assets": assets,
                },
            ),
            _proposal("dataProduct", product, "domains", {"domains": [domain]}),
            _proposal("dataProduct", product, "ownership", _owner(spec)),
            _proposal("dataProduct", product, "globalTags", _tags(spec.tags)),
        ]
    return proposals
