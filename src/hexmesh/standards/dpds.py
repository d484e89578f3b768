"""The Data Product Descriptor Specification (DPDS 1.0, Open Data Mesh) ↔ a hexmesh product.

A descriptor lists its ports in ``interfaceComponents`` (input, output, discovery, observability,
control), often as ``$ref``s to files beside it: hexmesh reads those (JSON or YAML, inside the
descriptor's folder; remote references are never fetched) and writes ports inline. An output
port's schema comes from a local datastore API table definition (DSAS ``columns``) when there is
one, else it is a placeholder; its ``promises.slo`` freshness/latency/retention become SLOs.

hexmesh's export declares every port kind: input ports with their expectations (the upstream
address and window), output ports with their promises (the datastore API with the schema, SLOs,
the deprecation policy of majors), and the node's discovery, observability and control ports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hexmesh.errors import SpecError, SpecProblem
from hexmesh.spec import DataProductSpec, OutputPort
from hexmesh.spec.loader import read_document
from hexmesh.standards import people, scaffold, types
from hexmesh.standards.imported import Imported, Notes, Options, Source
from hexmesh.standards.kinds import Standard
from hexmesh.standards.names import field_name, port_name, product_name, unique_name
from hexmesh.standards.odcs import semver
from hexmesh.standards.readme import readme
from hexmesh.standards.residue import residue, restore
from hexmesh.standards.schemas import schema_problems

__all__ = ["PREFIX", "VERSION", "export_descriptor", "import_descriptor", "resolve", "unwrap"]

PREFIX: Standard = "dpds"
VERSION = "1.0.0"
_KINDS = ("inputPorts", "outputPorts", "discoveryPorts", "observabilityPorts", "controlPorts")
_INTERFACE = f"{PREFIX}-interface"
_SLO_KEYS = {"freshness": "freshness", "latency": "timeliness", "timeliness": "timeliness", "retention": "retention"}


def resolve(value: Any, folder: Path, root: Path, depth: int = 0) -> Any:
    """``value`` with every local ``$ref`` to a JSON or YAML file replaced by the file's content.

    A reference object's other keys (a ``description``) are kept over the file's. Remote
    references (http) and references to other kinds of files (``.proto``, ``.avsc``) stay as they are.
    """
    if depth > 16:
        raise SpecError([SpecProblem(None, f"references nest deeper than 16 levels under {root}", "")])
    if isinstance(value, list):
        return [resolve(v, folder, root, depth) for v in value]
    if not isinstance(value, dict):
        return value
    ref = value.get("$ref")
    if (
        isinstance(ref, str)
        and not ref.startswith(("#", "http://", "https://"))
        and ref.endswith((".json", ".yaml", ".yml"))
    ):
        target = (folder / ref).resolve()
        if not target.is_relative_to(root):
            raise SpecError(
                [
                    SpecProblem(
                        None, f"$ref {ref!r} points outside {root}", "keep referenced files beside the descriptor"
                    )
                ]
            )
        if not target.is_file():
            raise SpecError([SpecProblem(None, f"$ref {ref!r}: no file {target}", "put the referenced file there")])
        content, _ = read_document(target.read_text(encoding="utf-8"), target)
        merged = resolve(content, target.parent, root, depth + 1)
        if isinstance(merged, dict):
            return {**merged, **{k: v for k, v in value.items() if k != "$ref"}}
        return merged
    return {k: resolve(v, folder, root, depth) for k, v in value.items()}


def import_descriptor(source: Source, options: Options) -> Imported:
    """The product of a DPDS descriptor and the port files it references."""
    notes = Notes()
    original = dict(source.data)
    info = dict(original.get("info") or {})
    if not info.get("name") and info.get("fullyQualifiedName"):
        # DPDS defines the FQN as urn:dpds:{namespace}:dataproducts:{name}:{major}.
        parts = str(info["fullyQualifiedName"]).split(":")
        if len(parts) >= 2 and "dataproducts" in parts:
            info["name"] = parts[parts.index("dataproducts") + 1]
            notes.changed.append(
                f"info.name: missing (DPDS requires it): taken from the fullyQualifiedName: {info['name']}"
            )
            original["info"] = info
    problems = schema_problems(PREFIX, original, source.marks)
    if problems:
        raise SpecError(problems)
    root = source.file.parent.resolve()
    document = resolve(original, root, root)
    interface = dict(document.get("interfaceComponents") or {})
    for kind in _KINDS:
        if kind in interface:
            interface[kind] = [unwrap(p, kind, notes) for p in interface.get(kind) or []]
    document["interfaceComponents"] = interface
    outputs: list[OutputPort] = []
    originals: dict[str, dict[str, Any]] = {}
    for index, port in enumerate(interface.get("outputPorts") or []):
        outputs.append(_output(port, index, [p.name for p in outputs], notes))
        originals[outputs[-1].name] = port
    if not outputs:
        outputs = [
            OutputPort.model_validate(scaffold.placeholder_port("output", "the descriptor declares no output port"))
        ]
        notes.changed.append("outputPorts[output]: placeholder (the descriptor declares no output port)")
    for port in interface.get("inputPorts") or []:
        notes.changed.append(f"inputPorts[{port.get('name')}]: kept, not read (name the upstream: inputPorts[].from)")
    dumped = [p.model_dump(by_alias=True, exclude_defaults=True) for p in outputs]
    transformation, files = scaffold.transformation(dumped, [])
    notes.changed.append("transformation: SQL that publishes no rows until you write it")
    owner = (info.get("owner") or {}).get("id") or options.owner
    data: dict[str, Any] = {
        "domain": product_name(str(info.get("domain") or options.domain)),
        "name": product_name(str(info.get("name"))),
        "version": semver(info.get("version"), notes, "info.version"),
        "owner": str(owner),
        "contacts": [str(c.get("address")) for c in info.get("contactPoints") or [] if c.get("address")],
        "description": str(info.get("description") or "").strip(),
        "docs": "README.md",
        "tags": [str(t) for t in document.get("tags") or []],
        "outputPorts": dumped,
        "policies": people.policies(outputs, people.kept_value(info.get(people.X_POLICIES)), [], notes),
    }
    if transformation is not None:
        data["transformation"] = transformation
    spec = notes.model(DataProductSpec, data, source.at(()), "descriptor")
    if spec is None:
        raise SpecError(notes.problems)
    ports = []
    for port in spec.output_ports:  # each keeps what hexmesh's export of it does not say
        if port.name in originals:
            kept_port = residue(PREFIX, originals[port.name], _port(port, spec))
            notes.keep(f"outputPorts[{port.name}]", kept_port)
            port = port.model_copy(update={"custom_properties": [*port.custom_properties, *kept_port]})
        ports.append(port)
    spec = spec.model_copy(update={"output_ports": ports})
    produced = export_descriptor(spec)
    kept = residue(PREFIX, document, produced, skip={"interfaceComponents"})
    kept += residue(_INTERFACE, interface, produced["interfaceComponents"], skip={"outputPorts"})
    notes.keep("descriptor", kept)
    final = {
        **spec.model_dump(by_alias=True, exclude_defaults=True),
        "customProperties": [c.model_dump(exclude_none=True) for c in kept],
    }
    text = readme(
        str(info.get("displayName") or info.get("name")),
        info.get("description"),
        ports=[(p.name, {"description": p.description}) for p in outputs],
        source=f"Imported from the DPDS descriptor {source.file.name} ({info.get('fullyQualifiedName')}).",
    )
    return Imported("dpds", [source.file], DataProductSpec.model_validate(final), text, files, notes)


def _columns(api: Any) -> list[dict[str, Any]]:
    """DSAS table columns of a datastore API definition (resolved), if it has local ones."""
    if not isinstance(api, dict):
        return []
    definition = api.get("definition")
    tables = (((definition or {}).get("schema") or {}).get("tables") or []) if isinstance(definition, dict) else []
    for table in tables:
        found = (table.get("definition") or {}) if isinstance(table, dict) else {}
        if isinstance(found, dict) and isinstance(found.get("columns"), list):
            return [c for c in found["columns"] if isinstance(c, dict) and c.get("name")]
    return []


def _slo(promises: dict[str, Any]) -> dict[str, str]:
    """freshness/latency/retention found anywhere in the port's promised SLO definition."""
    found: dict[str, str] = {}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in _SLO_KEYS and isinstance(item, str):
                    found.setdefault(_SLO_KEYS[key], item)
                walk(item)

    walk(((promises.get("slo") or {}).get("definition")) if isinstance(promises.get("slo"), dict) else None)
    from hexmesh.spec.duration import parse_duration

    for key, text in list(found.items()):
        try:
            parse_duration(text)
        except ValueError:
            del found[key]
    return found


def unwrap(port: Any, kind: str, notes: Notes) -> Any:
    """A port whose ``$ref`` file is a whole descriptor (as in DPDS's own example): its one port."""
    if isinstance(port, dict) and "interfaceComponents" in port:
        inner = (port.get("interfaceComponents") or {}).get(kind) or []
        if len(inner) == 1 and isinstance(inner[0], dict):
            notes.changed.append(
                f"{kind}[{inner[0].get('name')}]: its file is a whole descriptor: its one port is used"
            )
            return {**inner[0], **({"description": port["description"]} if port.get("description") else {})}
    return port


def _output(port: dict[str, Any], index: int, taken: list[str], notes: Notes) -> OutputPort:
    name = unique_name(port_name(str(port.get("name", f"output_{index}"))), taken)
    promises = port.get("promises") or {}
    columns = sorted(_columns(promises.get("api")), key=lambda c: c.get("ordinalPosition", 0))
    data: dict[str, Any] = {"name": name}
    if port.get("description"):
        data["description"] = str(port["description"])
    if port.get("tags"):
        data["tags"] = [str(t) for t in port["tags"]]
    raw = port.get("x-hexmesh")
    own: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if own.get("properties"):
        return OutputPort.model_validate({**data, **own})
    if columns:
        fields: list[dict[str, Any]] = []
        keys: list[str] = []
        for column in columns:
            physical = str(column.get("dataType", ""))
            field = {
                "name": unique_name(field_name(str(column["name"])), [f["name"] for f in fields]),
                **(types.from_physical(physical) or {"logicalType": "string"}),
                "physicalType": physical + (f"({column['dataLength']})" if column.get("dataLength") else ""),
            }
            constraint = str(column.get("columnConstraint", "")).upper()
            if constraint in ("NOT_NULL", "PRIMARY_KEY"):
                field["required"] = True
            if constraint == "PRIMARY_KEY":
                keys.append(field["name"])
            if column.get("description") or column.get("displayName"):
                field["description"] = str(column.get("description") or column.get("displayName"))
            fields.append(field)
        data["properties"] = fields
        if keys:
            data["primaryKey"] = keys
    else:
        data["properties"] = scaffold.placeholder_port(name, "")["properties"]
        data["customProperties"] = [{"property": scaffold.PLACEHOLDER, "value": scaffold.FIELDS}]
        notes.changed.append(
            f"outputPorts[{name}]: its schema is not in a local datastore API definition (remote references are "
            "never fetched): placeholder field value; declare the schema"
        )
    slo = _slo(promises)
    if slo:
        data["slo"] = slo
    return OutputPort.model_validate(data)


# -- export ----------------------------------------------------------------------------------------


def _fqn(spec: DataProductSpec, kind: str | None = None, name: str | None = None) -> str:
    base = f"urn:dpds:hexmesh:dataproducts:{spec.domain}.{spec.name}:{spec.major}"
    return f"{base}:{kind}:{name}" if kind else base


def _port(port: OutputPort, spec: DataProductSpec) -> dict[str, Any]:
    """An output port with its promises: the datastore API (the schema), SLOs, the deprecation policy."""
    entry: dict[str, Any] = {
        "fullyQualifiedName": _fqn(spec, "outputports", port.name),
        "name": port.name,
        "version": spec.version,
    }
    if port.description:
        entry["description"] = port.description
    if port.tags:
        entry["tags"] = list(port.tags)
    # What DPDS has no words for (the contract: fields with their constraints, checks, SLOs, how history
    # reads) travels as hexmesh's own port spec, so a descriptor hexmesh wrote imports back losslessly.
    own = port.model_dump(by_alias=True, exclude_defaults=True, mode="json")
    own = {k: v for k, v in own.items() if k not in ("name", "description", "tags", "customProperties")}
    entry["x-hexmesh"] = own
    columns = [
        {
            "name": f.name,
            "dataType": f.physical_type or types.physical_type(f.logical_type, f.precision, f.scale),
            **({"columnConstraint": "PRIMARY_KEY"} if f.name in port.primary_key else {}),
            **({"columnConstraint": "NOT_NULL"} if f.required and f.name not in port.primary_key else {}),
            "ordinalPosition": i,
            **({"description": f.description} if f.description else {}),
        }
        for i, f in enumerate(port.properties, 1)
    ]
    promises: dict[str, Any] = {
        "platform": "hexmesh",
        "servicesType": "datastore-services",
        "api": {
            "name": f"{port.name}Api",
            "version": spec.version,
            "specification": "datastoreapi",
            "specificationVersion": "1.0.0",
            "definition": {
                "datastoreapi": "1.0.0",
                "info": {"title": port.name, "version": spec.version, "datastoreName": port.name},
                "schema": {"tables": [{"name": port.name, "definition": {"name": port.name, "columns": columns}}]},
            },
        },
        "deprecationPolicy": {
            "name": "majors",
            "version": "1.0.0",
            "specification": "custom",
            "definition": {
                "x-policy": "a breaking change is a new major; the old major keeps serving until its sunset "
                "(hexmesh deprecate --sunset)"
            },
        },
    }
    if port.slo is not None:
        promises["slo"] = {
            "name": "slo",
            "version": spec.version,
            "specification": "custom",
            "definition": {"x-hexmesh-slo": port.slo.model_dump(by_alias=True, exclude_none=True)},
        }
    entry["promises"] = promises
    return entry


def _input(spec: DataProductSpec, port: Any) -> dict[str, Any]:
    origin = {"x-from": port.from_} if port.from_ else {"x-source": port.source.format if port.source else None}
    return {
        "fullyQualifiedName": _fqn(spec, "inputports", port.name),
        "name": port.name,
        "version": spec.version,
        **({"description": port.description} if port.description else {}),
        "expectations": {
            "usage": {
                "name": "usage",
                "version": spec.version,
                "specification": "custom",
                "definition": {**origin, "x-window": port.window},
            }
        },
    }


def _management(spec: DataProductSpec, kind: str, name: str, path: str, about: str) -> dict[str, Any]:
    return {
        "fullyQualifiedName": _fqn(spec, kind.lower(), name),
        "name": name,
        "version": spec.version,
        "description": about,
        "promises": {
            "platform": "hexmesh",
            "servicesType": "rest-services",
            "api": {
                "name": f"{name}Api",
                "version": spec.version,
                "specification": "custom",
                "definition": {"x-path": path},
            },
        },
    }


def export_descriptor(spec: DataProductSpec) -> dict[str, Any]:
    """The DPDS 1.0.0 descriptor of ``spec``: every port kind, inline."""
    path = f"/products/{spec.domain}/{spec.name}"
    interface: dict[str, Any] = {
        "inputPorts": [_input(spec, p) for p in spec.input_ports],
        "outputPorts": [
            restore(PREFIX, _port(p, spec), p.custom_properties)
            for p in spec.output_ports
            if not scaffold.is_placeholder(p.custom_properties, True)
        ],
        "discoveryPorts": [_management(spec, "discoveryports", "discovery", path, "DCAT 3, ODPS and ODCS documents")],
        "observabilityPorts": [
            _management(spec, "observabilityports", "observability", f"{path}/observability", "SLOs, runs, metrics")
        ],
        "controlPorts": [_management(spec, "controlports", "control", f"{path}/control", "runs, policies, lifecycle")],
    }
    interface = restore(_INTERFACE, interface, spec.custom_properties)
    info: dict[str, Any] = {
        "fullyQualifiedName": _fqn(spec),
        "name": spec.name,
        "version": spec.version,
        "domain": spec.domain,
        "owner": {"id": spec.owner},
    }
    if spec.description:
        info["description"] = spec.description
    if spec.contacts:
        info["contactPoints"] = [{"address": c} for c in spec.contacts]
    policies = people.exported_value(spec)
    if policies:
        info[people.X_POLICIES] = policies
    document: dict[str, Any] = {"dataProductDescriptor": VERSION, "info": info, "interfaceComponents": interface}
    if spec.tags:
        document["tags"] = list(spec.tags)
    return restore(PREFIX, document, spec.custom_properties)
