"""A product's spec as one caller may know it: built up from what it may discover (an allow-list).

The discovery port serves a product in the open standards (ODPS, ODCS, DPDS, DCS) from this view,
never from the deployed spec: a caller that is not the owner gets the identity, the ports it may
discover with the fields it may discover (their declared metadata only), the checks and links that
name nothing hidden, and the upstream ports it may discover. Left out because nothing copies them:
policies, operational sources (paths, connection URLs), the transformation, custom properties.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping

from hexmesh.spec import DataProductSpec, FieldSpec, OutputPort, QualityCheck
from hexmesh.standards.scaffold import placeholder_port

__all__ = ["disclosed_spec"]

#: The keys of a field a discovering caller is told (its declared metadata).
_FIELD_KEYS = frozenset(
    {
        "name",
        "logicalType",
        "required",
        "description",
        "classification",
        "precision",
        "scale",
        "concept",
        "tags",
        "physicalType",
        "unique",
        "logicalTypeOptions",
    }
)


def disclosed_spec(
    spec: DataProductSpec, visible: Mapping[str, Collection[str]], sees: Callable[[str], bool]
) -> DataProductSpec:
    """``spec`` reduced to the ports in ``visible`` (port → the columns the caller may discover).

    ``sees(address)`` says whether a ``dp://`` address names nothing the caller may not discover.
    """
    ports = [_port(port, set(visible[port.name]), sees) for port in spec.output_ports if port.name in visible]
    shown = [p for p in ports if p is not None]
    if not shown:
        shown = [OutputPort.model_validate(placeholder_port("ports", "no port is discoverable by the caller"))]
    inputs = [
        {"name": p.name, "from": p.from_, "window": p.window}
        for p in spec.input_ports
        if p.from_ is not None and sees(p.from_)
    ]
    return DataProductSpec.model_validate(
        {
            "domain": spec.domain,
            "name": spec.name,
            "version": spec.version,
            "status": spec.status,
            "owner": spec.owner,
            "contacts": list(spec.contacts),
            "description": spec.description,
            "tags": list(spec.tags),
            "inputPorts": inputs,
            "outputPorts": [p.model_dump(by_alias=True, exclude_defaults=True) for p in shown],
        }
    )


def _port(port: OutputPort, columns: set[str], sees: Callable[[str], bool]) -> OutputPort | None:
    fields = [_field(f, sees) for f in port.properties if f.name in columns]
    if not fields:
        return None
    hidden = {f.name for f in port.properties} - columns
    data = {
        "name": port.name,
        "description": port.description,
        "mode": port.mode,
        "eventTime": port.event_time if port.event_time in columns else None,
        "primaryKey": [k for k in port.primary_key if k in columns],
        "properties": [f.model_dump(by_alias=True, exclude_defaults=True) for f in fields],
        "slo": port.slo.model_dump(by_alias=True, exclude_none=True) if port.slo else None,
        "quality": [_check(q) for q in port.quality if _names_only(q, columns, hidden)],
        "tags": list(port.tags),
    }
    return OutputPort.model_validate({k: v for k, v in data.items() if v is not None})


def _field(field: FieldSpec, sees: Callable[[str], bool]) -> FieldSpec:
    dumped = field.model_dump(by_alias=True, exclude_defaults=True)
    data = {key: value for key, value in dumped.items() if key in _FIELD_KEYS}
    links = [link for link in field.links if sees(link)]
    if links:
        data["links"] = links
    return FieldSpec.model_validate(data)


def _names_only(check: QualityCheck, columns: set[str], hidden: set[str]) -> bool:
    """Whether a check names only columns the caller sees (a SQL check's text included)."""
    if not set(check.columns) <= columns:
        return False
    text = f"{check.sql or ''} {check.name or ''} {check.description}"
    return not any(re.search(rf"\b{re.escape(c)}\b", text) for c in hidden)


def _check(check: QualityCheck) -> dict[str, object]:
    dumped = check.model_dump(by_alias=True, exclude_defaults=True, exclude_none=True)
    dumped.pop("customProperties", None)
    return dumped
