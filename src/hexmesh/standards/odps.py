"""The Open Data Product Standard (ODPS) ↔ a hexmesh product, with its ODCS contracts.

An ODPS document describes the product; each output port points at the ODCS contract that
describes its data by ``contractId`` (the contract's ``id``). ``hexmesh import`` takes the
ODPS document and the contracts together; an output port whose contract is not given gets a
placeholder schema (and the import says so). ``hexmesh export --format odps`` writes one ODPS
document plus one ODCS contract per output port, with ``contractId`` = the contract's ``id``
(``dp://domain/product@major/port``); discovery, observability and control are management ports;
input ports name their upstream port's contract.
"""

from __future__ import annotations

from typing import Any

from hexmesh.errors import SpecError, SpecProblem
from hexmesh.spec import DataProductSpec, InputPort, OutputPort, parse_address
from hexmesh.spec.base import CustomProperty
from hexmesh.standards import odcs, people, scaffold
from hexmesh.standards.imported import Imported, Notes, Options, Source
from hexmesh.standards.names import port_name, product_name
from hexmesh.standards.readme import readme
from hexmesh.standards.residue import foreign, residue, restore
from hexmesh.standards.schemas import schema_problems

__all__ = ["API_VERSION", "PREFIX", "export_bundle", "export_product", "import_product"]

PREFIX = "odps"
API_VERSION = "v1.0.0"
_CONTRACT = "hexmesh.contract"  # the contract's own keys, given back with it (not an ODPS entry key)


def import_product(source: Source, contracts: list[Source], options: Options) -> Imported:
    """The product of an ODPS document and the ODCS contracts its ports name."""
    notes = Notes()
    document = source.data
    problems = schema_problems("odps", document, source.marks)
    for contract in contracts:
        fixed = odcs.repair_servers(contract, notes)
        problems += schema_problems("odcs", fixed, contract.marks)
    if problems:
        raise SpecError(problems)
    by_id = {str(c.data.get("id")): c for c in contracts}
    used: set[str] = set()
    outputs: list[OutputPort] = []
    entries: dict[str, dict[str, Any]] = {}
    for index, entry in enumerate(document.get("outputPorts") or []):
        found = _output(source, index, entry, by_id, [p.name for p in outputs], notes)
        if found:
            entries[found[0].name] = entry
            outputs += found
            used.add(str(entry.get("contractId")))
    for contract in contracts:
        if str(contract.data.get("id")) not in used:
            notes.problems.append(
                SpecProblem(
                    contract.at(("id",)),
                    f"contract {contract.data.get('id')!r} is no output port's contractId",
                    "name it in an ODPS output port (contractId), or import it on its own",
                )
            )
    if not outputs:
        outputs = [
            OutputPort.model_validate(scaffold.placeholder_port("output", "the product declares no output port"))
        ]
        notes.changed.append("outputPorts[output]: placeholder (the product declares no output port)")
    if notes.problems:
        raise SpecError(notes.problems)
    spec, files = _spec(source, document, outputs, entries, options, notes)
    about = [(p.name, {"description": p.description}) for p in spec.output_ports]
    text = readme(
        str(document.get("name") or spec.name),
        document.get("description"),
        ports=about,
        source=f"Imported from the ODPS product {source.file.name} (id {document.get('id')}).",
    )
    return Imported("odps", [source.file, *(c.file for c in contracts)], spec, text, files, notes)


def _output(
    source: Source, index: int, entry: dict[str, Any], by_id: dict[str, Source], taken: list[str], notes: Notes
) -> list[OutputPort] | None:
    name = port_name(str(entry.get("name", f"output_{index}")))
    if name in taken:
        major = str(entry.get("version", "")).lstrip("v").split(".")[0]
        name = f"{name}_v{major}" if major.isdigit() and f"{name}_v{major}" not in taken else f"{name}_{index}"
    contract = by_id.get(str(entry.get("contractId")))
    if contract is None:
        why = f"its contract {entry.get('contractId')} was not given"
        port = OutputPort.model_validate(scaffold.placeholder_port(name, why))
        notes.changed.append(f"outputPorts[{name}]: placeholder schema ({why}; pass the ODCS file too)")
        ports = [port]
    else:
        found = odcs.ports_of(contract, contract.data, notes, single=name, taken=tuple(taken))
        if found is None:
            return None
        ports = found
        keep = {k: v for k, v in contract.data.items() if k != "schema"}
        ports[0] = _with(ports[0], [CustomProperty(property=_CONTRACT, value=keep)])
    if entry.get("description") and not ports[0].description:
        ports[0] = ports[0].model_copy(update={"description": str(entry["description"])})
    return ports


def _with(port: OutputPort, custom: list[CustomProperty]) -> OutputPort:
    return OutputPort.model_validate(
        {
            **port.model_dump(by_alias=True, exclude_defaults=True),
            "customProperties": [c.model_dump(exclude_none=True) for c in [*port.custom_properties, *custom]],
        }
    )


def _spec(
    source: Source,
    document: dict[str, Any],
    outputs: list[OutputPort],
    entries: dict[str, dict[str, Any]],
    options: Options,
    notes: Notes,
) -> tuple[DataProductSpec, dict[str, str]]:
    domain = document.get("domain") or options.domain
    if not domain:
        raise SpecError([SpecProblem(source.at(()), "the product names no domain", "pass --domain, or add domain:")])
    team = people.team_of(document.get("team"))
    owner = team.owner or options.owner or product_name(str(domain))
    if team.owner is None:
        notes.changed.append(f"owner: the product names no owner (team): hexmesh uses {owner!r}; change it")
    inputs = _inputs(document.get("inputPorts") or [], notes)
    ports = [p.model_dump(by_alias=True, exclude_defaults=True) for p in outputs]
    transformation, files = scaffold.transformation(ports, inputs)
    if transformation is not None:
        notes.changed.append("transformation: SQL that publishes no rows until you write it")
    description = document.get("description")
    purpose = description.get("purpose") if isinstance(description, dict) else description
    data: dict[str, Any] = {
        "domain": product_name(str(domain)),
        "name": product_name(str(document.get("name") or document.get("id"))),
        "version": odcs.semver(document.get("version") or "1.0.0", notes, "version"),
        "status": odcs.status_of(document.get("status"), notes, "status"),
        "owner": owner,
        "contacts": team.contacts,
        "description": str(purpose or "").strip(),
        "docs": "README.md",
        "tags": [str(t) for t in document.get("tags") or []],
        "inputPorts": inputs,
        "outputPorts": ports,
        "policies": people.policies(
            outputs, people.exported_policies(document.get("customProperties") or []), [], notes
        ),
    }
    if transformation is not None:
        data["transformation"] = transformation
    spec = notes.model(DataProductSpec, data, source.at(()), "product")
    if spec is None:
        raise SpecError(notes.problems)
    finished: list[OutputPort] = []
    for port in spec.output_ports:  # each ODPS entry keeps what the export of its port does not say
        entry = entries.get(port.name)
        if entry is not None:
            kept_entry = residue(PREFIX, entry, _entry(port, spec))
            own = [CustomProperty.model_validate(c) for c in entry.get("customProperties") or [] if isinstance(c, dict)]
            notes.keep(f"outputPorts[{port.name}]", kept_entry)
            port = _with(port, own + kept_entry)
        finished.append(port)
    spec = spec.model_copy(update={"output_ports": finished})
    kept = residue(PREFIX, document, export_product(spec), skip={"outputPorts"})
    own = [
        CustomProperty.model_validate(c)
        for c in document.get("customProperties") or []
        if isinstance(c, dict) and c.get("property") != people.POLICIES
    ]
    notes.keep("product", kept)
    final = {
        **spec.model_dump(by_alias=True, exclude_defaults=True),
        "customProperties": [c.model_dump(exclude_none=True) for c in own + kept],
    }
    return DataProductSpec.model_validate(final), files


def _inputs(entries: list[Any], notes: Notes) -> list[dict[str, Any]]:
    """Input ports whose contract is a hexmesh port address; the others are kept and listed."""
    found: list[dict[str, Any]] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        contract = str(entry.get("contractId", ""))
        try:
            address = parse_address(contract, default_scheme=False)
        except ValueError:
            address = None
        if address is None or address.port is None:
            notes.changed.append(
                f"inputPorts[{entry.get('name')}]: contract {contract} is not a hexmesh port address: kept, "
                "not read (add inputPorts[].from: dp://… once you know which product serves it)"
            )
            continue
        name = port_name(str(entry.get("name", address.port)))
        if name not in [f["name"] for f in found]:
            found.append({"name": name, "from": contract})
    return found


# -- export ----------------------------------------------------------------------------------------


def _entry(port: OutputPort, spec: DataProductSpec | None) -> dict[str, Any]:
    """An ODPS output port entry (before the kept residue is put back)."""
    entry: dict[str, Any] = {"name": port.name}
    if port.description:
        entry["description"] = port.description
    entry["type"] = "tables"
    if spec is not None:
        entry["version"] = spec.version
        entry["contractId"] = odcs.contract_id(spec, port.name)
    if port.tags:
        entry["tags"] = list(port.tags)
    return entry


def _input(port: InputPort, versions: dict[str, str]) -> dict[str, Any] | None:
    if port.from_ is None:
        return None
    address = parse_address(port.from_)
    key = f"dp://{address.product_key}"
    version = versions.get(key) or (f"{address.major}.0.0" if address.major is not None else "latest")
    major = (
        address.major if address.major is not None else (int(version.split(".")[0]) if version[0].isdigit() else None)
    )
    contract = f"{key}@{major}/{address.port}" if major is not None else f"{key}/{address.port}"
    return {"name": port.name, "version": version, "contractId": contract}


def export_product(
    spec: DataProductSpec, *, base_url: str | None = None, upstream: dict[str, str] | None = None
) -> dict[str, Any]:
    """The ODPS v1.0.0 document of ``spec``. ``upstream`` maps ``dp://domain/product`` to its version."""
    document: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "DataProduct",
        "id": odcs.contract_id(spec),
        "name": spec.name,
        "version": spec.version,
        "status": spec.status,
        "domain": spec.domain,
    }
    if spec.description:
        document["description"] = {"purpose": spec.description}
    if spec.tags:
        document["tags"] = list(spec.tags)
    inputs = [e for e in (_input(p, upstream or {}) for p in spec.input_ports) if e is not None]
    if inputs:
        document["inputPorts"] = inputs
    outputs = [entry for _, entry in _entries(spec)]
    if outputs:
        document["outputPorts"] = outputs
    document["managementPorts"] = _management(spec, base_url)
    document["team"] = people.export_team(spec.owner, list(spec.contacts))
    document = restore(PREFIX, document, spec.custom_properties)
    own = foreign(spec.custom_properties, PREFIX)
    policies = people.exported_value(spec)
    if policies:
        own.append({"property": people.POLICIES, "value": policies})
    if own:
        document["customProperties"] = own
    return document


def _entries(spec: DataProductSpec) -> list[tuple[OutputPort, dict[str, Any]]]:
    """Each output port with its ODPS entry; a port hexmesh made up for a product without ports has none."""
    found = []
    for port in spec.output_ports:
        kept = any(c.property.startswith(PREFIX + ".") for c in port.custom_properties)
        if scaffold.is_placeholder(port.custom_properties, True) and not kept:
            continue
        entry = restore(PREFIX, _entry(port, spec), port.custom_properties)
        own = [
            c for c in foreign(port.custom_properties, PREFIX) if not c["property"].startswith(("odcs.", "hexmesh."))
        ]
        if own:
            entry["customProperties"] = own
        found.append((port, entry))
    return found


def _management(spec: DataProductSpec, base_url: str | None) -> list[dict[str, Any]]:
    path = f"/products/{spec.domain}/{spec.name}"
    ports = [
        ("discovery", "discoverability", path, "DCAT 3 JSON-LD; ODPS and ODCS documents by content negotiation"),
        ("observability", "observability", f"{path}/observability", "SLOs, shape, drift, runs"),
        ("control", "control", f"{path}/control", "runs, pause, policies, lifecycle (owners)"),
    ]
    found = []
    for name, content, at, about in ports:
        entry: dict[str, Any] = {"name": name, "content": content, "type": "rest", "description": about}
        if base_url:
            entry["url"] = base_url.rstrip("/") + at
        else:
            entry["channel"] = at
        found.append(entry)
    return found


def export_bundle(
    spec: DataProductSpec, *, base_url: str | None = None, upstream: dict[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """File name → document: the ODPS product and one ODCS contract per output port."""
    files = {f"{spec.name}.odps.yaml": export_product(spec, base_url=base_url, upstream=upstream)}
    for port, entry in _entries(spec):
        if scaffold.is_placeholder(port.custom_properties, True):
            continue  # its contract was not imported: there is nothing to write
        contract = odcs.export_contract(spec, ports=[port.name])
        kept = next((c.value for c in port.custom_properties if c.property == _CONTRACT), None)
        if isinstance(kept, dict):
            contract = {**contract, **{k: v for k, v in kept.items() if k not in ("schema",)}}
        contract["id"] = entry.get("contractId", contract["id"])
        files[f"{spec.name}.{port.name}.odcs.yaml"] = contract
    return files
