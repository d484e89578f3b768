"""The Open Data Contract Standard (ODCS 3.x) ↔ a hexmesh product.

A contract becomes a product: each ``schema`` object an output port, each property a field,
its quality rules checks (:mod:`.checks`), its SLA properties SLOs (:mod:`.slas`), its team the
owner and contacts, its read roles access rules (:mod:`.people`). What hexmesh has no key for
is kept in ``customProperties`` under ``odcs.`` (:mod:`.residue`) and exported back.

ODCS 3.0 and 3.1 documents are read and checked against the ODCS v3.1.0 JSON Schema (which
accepts both); hexmesh writes ODCS v3.1.0.
"""

from __future__ import annotations

import re
from typing import Any

from hexmesh.errors import ProblemLocation, SpecError, SpecProblem
from hexmesh.spec import DataProductSpec, FieldSpec, OutputPort
from hexmesh.spec.base import CustomProperty
from hexmesh.standards import checks, people, scaffold, slas, types
from hexmesh.standards.imported import Imported, Notes, Options, Source
from hexmesh.standards.names import field_name, port_name, product_name, unique_name
from hexmesh.standards.readme import readme
from hexmesh.standards.residue import foreign, residue, restore
from hexmesh.standards.schemas import schema_problems

__all__ = [
    "API_VERSION",
    "PREFIX",
    "contract_id",
    "export_contract",
    "import_contract",
    "ports_of",
    "semver",
    "status_of",
]

PREFIX = "odcs"
API_VERSION = "v3.1.0"
_TEXTS = "hexmesh.textRules"
_STATUSES = ("proposed", "draft", "active", "deprecated", "retired")
_SEMVER = re.compile(r"^v?(\d{1,9})(?:\.(\d{1,9}))?(?:\.(\d{1,9}))?(-[0-9A-Za-z.-]+)?$")


def semver(text: Any, notes: Notes, where: str) -> str:
    """A version hexmesh accepts (MAJOR.MINOR.PATCH): ``v1.0.0`` → ``1.0.0``, ``2`` → ``2.0.0``."""
    found = _SEMVER.match(str(text).strip()) if text is not None else None
    if found is None:
        notes.changed.append(f"{where}: version {text!r} is not semantic: hexmesh uses 0.1.0")
        return "0.1.0"
    major, minor, patch, pre = found.groups()
    version = f"{int(major)}.{int(minor or 0)}.{int(patch or 0)}{pre or ''}"
    if version != str(text):
        notes.changed.append(f"{where}: version {text!r} written {version} (semantic versioning)")
    return version


def status_of(text: Any, notes: Notes, where: str) -> str:
    status = str(text).strip().lower() if text is not None else "active"
    if status not in _STATUSES:
        notes.changed.append(f"{where}: status {text!r} is not one of {', '.join(_STATUSES)}: hexmesh uses draft")
        return "draft"
    return status


def contract_id(spec: DataProductSpec, port: str | None = None) -> str:
    """The id hexmesh gives the contract of a product (or of one port) it exports."""
    base = f"dp://{spec.domain}/{spec.name}@{spec.major}"
    return f"{base}/{port}" if port else base


# -- import ----------------------------------------------------------------------------------------


def repair_servers(source: Source, notes: Notes) -> dict[str, Any]:
    """Servers carry keys their type does not allow (``delimiter`` on a local json server): move them
    into the server's customProperties, so the document validates and nothing is lost."""
    document = dict(source.data)
    servers = document.get("servers")
    if not isinstance(servers, list):
        return document
    problems = {
        (p.location.line, p.location.column): p
        for p in schema_problems("odcs", {"servers": servers}, source.marks)
        if p.location is not None
    }
    if not problems:
        return document
    fixed = []
    for index, server in enumerate(servers):
        if not isinstance(server, dict):
            fixed.append(server)
            continue
        moved = {}
        for key in list(server):
            at = source.marks.at(("servers", index, key), key=True)
            problem = problems.get((at.line, at.column)) if at else None
            if problem is not None and problem.message == f"unknown key {key!r}":
                moved[key] = server[key]
        if moved:
            custom = list(server.get("customProperties") or []) + [
                {"property": k, "value": v} for k, v in moved.items()
            ]
            server = {k: v for k, v in server.items() if k not in moved} | {"customProperties": custom}
            notes.changed.append(
                f"servers[{server.get('server', index)}]: {', '.join(moved)} not allowed for a {server.get('type')} "
                "server in ODCS v3.1.0: moved into its customProperties"
            )
        fixed.append(server)
    document["servers"] = fixed
    return document


def import_contract(source: Source, options: Options, notes: Notes | None = None) -> Imported:
    """The product of an ODCS contract; SpecError lists every problem, each at file:line:col."""
    notes = notes or Notes()
    document = repair_servers(source, notes)
    problems = schema_problems("odcs", document, source.marks)
    if problems:
        raise SpecError(problems)
    product = _product(source, document, options, notes)
    if notes.problems:
        raise SpecError(notes.problems)
    assert product is not None
    spec, files = product
    about = [(p.name, _object_about(document, p)) for p in spec.output_ports if not _placeholder(p)]
    text = readme(
        str(document.get("name") or document.get("dataProduct") or spec.name),
        document.get("description"),
        ports=about,
        source=f"Imported from the ODCS contract {source.file.name} (id {document.get('id')}).",
    )
    return Imported("odcs", [source.file], spec, text, files, notes)


def _object_about(document: dict[str, Any], port: OutputPort) -> dict[str, Any]:
    for item in document.get("schema") or []:
        if isinstance(item, dict) and port_name(str(item.get("name", ""))) == port.name:
            return item
    return {"description": port.description}


def _placeholder(port: OutputPort) -> bool:
    return scaffold.is_placeholder(port.custom_properties)


def ports_of(
    source: Source, document: dict[str, Any], notes: Notes, *, single: str | None = None, taken: tuple[str, ...] = ()
) -> list[OutputPort] | None:
    """The output ports of a contract's schema objects, with their SLOs; None when a problem was noted.

    ``single`` names the port of a contract with one schema object (an ODPS output port's name).
    """
    drafts = _ports(source, document, notes, taken)
    if single is not None and len(drafts) == 1:
        drafts[0].port["name"] = single
    if not drafts:
        why = f"contract {document.get('id')} declares no schema"
        port = scaffold.placeholder_port(single or str(document.get("name") or "output"), why)
        drafts = [_Draft(port, None, source.at(("schema",)), [], [])]
        notes.changed.append(f"outputPorts[{drafts[0].port['name']}]: placeholder ({why}); declare its schema")
    ports = [d.port for d in drafts]
    names = {str(d.original.get("name")): d.port["name"] for d in drafts if d.original}
    fields = {p["name"]: {f["name"] for f in p["properties"]} for p in ports}
    levels = slas.odcs_levels(document.get("slaProperties") or [], names, fields)
    for port in ports:
        slo = {**levels.slos.get(None, {}), **levels.slos.get(port["name"], {})}
        if slo:
            port["slo"] = slo
        event = levels.event_times.get(port["name"])
        kinds = {f["name"]: f["logicalType"] for f in port["properties"]}
        if event and kinds.get(event) in ("date", "timestamp") and "eventTime" not in port:
            port["eventTime"] = event
    for item in levels.unchecked:
        notes.changed.append(f"slaProperties: {item}: kept, not checked (it describes the service, not the data)")
    scaffold.subject_tags(ports, notes)
    outputs = [_finish_port(d, notes) for d in drafts]
    if notes.problems or any(p is None for p in outputs):
        return None
    return [p for p in outputs if p is not None]


def _product(
    source: Source, document: dict[str, Any], options: Options, notes: Notes
) -> tuple[DataProductSpec, dict[str, str]] | None:
    outputs = ports_of(source, document, notes)
    if outputs is None:
        return None
    ports = [p.model_dump(by_alias=True, exclude_defaults=True) for p in outputs]
    team = people.team_of(document.get("team"))
    domain = document.get("domain") or options.domain
    if not domain:
        notes.problems.append(
            SpecProblem(source.at(()), "the contract names no domain", "pass --domain, or add domain: to it")
        )
        return None
    owner = team.owner or options.owner or product_name(str(domain))
    if team.owner is None:
        notes.changed.append(f"owner: the contract names no owner (team): hexmesh uses {owner!r}; change it")
    access, unenforced = people.access_rules(document.get("roles") or [])
    for item in unenforced:
        notes.changed.append(f"roles: {item}")
    kept_policies = people.exported_policies(document.get("customProperties") or [])
    rules = people.policies(outputs, kept_policies, access, notes)
    description = document.get("description")
    purpose = description.get("purpose") or description.get("usage") if isinstance(description, dict) else description
    server = scaffold.server_input(list(document.get("servers") or []), options, source.at(("servers",)), notes)
    inputs = [server] if server else []
    transformation, files = scaffold.transformation(ports, inputs)
    if transformation is not None and not server:
        notes.changed.append(
            "transformation: SQL that publishes no rows until you write it (or import with --server NAME)"
        )
    data: dict[str, Any] = {
        "domain": product_name(str(domain)),
        "name": product_name(str(document.get("dataProduct") or document.get("name") or document.get("id"))),
        "version": semver(document.get("version"), notes, "version"),
        "status": status_of(document.get("status"), notes, "status"),
        "owner": owner,
        "contacts": team.contacts,
        "description": str(purpose or "").strip(),
        "docs": "README.md",
        "tags": [str(t) for t in document.get("tags") or []],
        "inputPorts": inputs,
        "outputPorts": ports,
        "policies": rules,
    }
    if transformation is not None:
        data["transformation"] = transformation
    spec = notes.model(DataProductSpec, data, source.at(()), "contract")
    if spec is None:
        return None
    produced = export_contract(spec)
    kept = residue(PREFIX, document, produced, skip={"schema"} if document.get("schema") else set())
    own = [
        CustomProperty.model_validate(c)
        for c in document.get("customProperties") or []
        if isinstance(c, dict) and c.get("property") != people.POLICIES
    ]
    notes.keep("contract", kept)
    spec = spec.model_copy(update={"custom_properties": own + kept})
    return DataProductSpec.model_validate(spec.model_dump(by_alias=True, exclude_defaults=True)), files


class _Draft:
    """A port being imported: its spec dict, and the source object and fields it came from."""

    def __init__(
        self,
        port: dict[str, Any],
        original: dict[str, Any] | None,
        where: ProblemLocation,
        properties: list[tuple[dict[str, Any], dict[str, Any], ProblemLocation]],
        texts: list[dict[str, Any]],
    ) -> None:
        self.port, self.original, self.where, self.properties, self.texts = port, original, where, properties, texts


def _ports(source: Source, document: dict[str, Any], notes: Notes, taken: tuple[str, ...] = ()) -> list[_Draft]:
    drafts: list[_Draft] = []
    for index, item in enumerate(document.get("schema") or []):
        if not isinstance(item, dict):
            continue
        path = ("schema", index)
        used = [*taken, *(d.port["name"] for d in drafts)]
        name = unique_name(port_name(str(item.get("name", f"port_{index}"))), used)
        drafts.append(_port(source, item, name, path, notes))
    return drafts


def _port(source: Source, item: dict[str, Any], name: str, path: tuple[Any, ...], notes: Notes) -> _Draft:
    fields: list[dict[str, Any]] = []
    pairs: list[tuple[dict[str, Any], dict[str, Any], ProblemLocation]] = []
    quality: list[dict[str, Any]] = []
    texts: list[dict[str, Any]] = []
    columns: dict[str, str] = {}
    keyed: list[tuple[int, int, str]] = []
    properties = [p for p in item.get("properties") or [] if isinstance(p, dict)]
    for position, prop in enumerate(properties):
        fname = unique_name(field_name(str(prop.get("name", f"field_{position}"))), [f["name"] for f in fields])
        columns[str(prop.get("name"))] = fname
        if prop.get("primaryKey"):
            order = prop.get("primaryKeyPosition")
            keyed.append((order if isinstance(order, int) and order > 0 else 10_000 + position, position, fname))
    for position, prop in enumerate(properties):
        fname = columns[str(prop.get("name"))]
        field = _field(prop, fname)
        fields.append(field)
        pairs.append((field, prop, source.at((*path, "properties", position))))
        rules = checks.import_rules(
            PREFIX,
            list(prop.get("quality") or []),
            path=(*path, "properties", position, "quality"),
            where=source.at,
            field_name=fname,
            columns=columns,
        )
        quality += rules.checks
        notes.problems += rules.problems
        if rules.texts:
            field["customProperties"] = [{"property": _TEXTS, "value": rules.texts}]
    rules = checks.import_rules(
        PREFIX,
        list(item.get("quality") or []),
        path=(*path, "quality"),
        where=source.at,
        field_name=None,
        columns=columns,
    )
    notes.problems += rules.problems
    texts = rules.texts
    port: dict[str, Any] = {"name": name, "properties": fields}
    if item.get("description"):
        port["description"] = str(item["description"])
    if item.get("tags"):
        port["tags"] = [str(t) for t in item["tags"]]
    if keyed:
        port["primaryKey"] = [n for _, _, n in sorted(keyed)]
    if rules.checks or quality:
        port["quality"] = rules.checks + quality
    if not fields:
        port["properties"] = scaffold.placeholder_port(name, "")["properties"]
        port["customProperties"] = [{"property": scaffold.PLACEHOLDER, "value": scaffold.FIELDS}]
        notes.changed.append(f"outputPorts[{name}]: the schema object declares no properties: placeholder field value")
    return _Draft(port, item, source.at(path), pairs, texts)


def _field(prop: dict[str, Any], name: str) -> dict[str, Any]:
    field: dict[str, Any] = {"name": name, **types.from_odcs(prop.get("logicalType"), prop.get("physicalType"))}
    if prop.get("physicalType"):
        field["physicalType"] = str(prop["physicalType"])
    if prop.get("required"):
        field["required"] = True
    if prop.get("unique"):
        field["unique"] = True
    if prop.get("description"):
        field["description"] = str(prop["description"])
    classification = people.classification_of(prop.get("classification"))
    if classification:
        field["classification"] = classification
    if prop.get("tags"):
        field["tags"] = [str(t) for t in prop["tags"]]
    options = _options(prop.get("logicalTypeOptions"), field["logicalType"])
    if options:
        field["logicalTypeOptions"] = options
    return field


_OPTION_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern")


def _options(options: Any, logical: str) -> dict[str, Any]:
    """The logicalTypeOptions hexmesh checks; ODCS 3.0's boolean exclusive bounds become 3.1's numbers."""
    if not isinstance(options, dict):
        return {}
    found = {k: options[k] for k in _OPTION_KEYS if k in options}
    for side in ("Minimum", "Maximum"):
        flag = found.get(f"exclusive{side}")
        if isinstance(flag, bool):
            del found[f"exclusive{side}"]
            if flag and side.lower() in found:
                found[f"exclusive{side}"] = found.pop(side.lower())
    if logical != "string":
        for key in ("minLength", "maxLength", "pattern"):
            found.pop(key, None)
    if logical not in ("integer", "number", "decimal", "date", "timestamp", "time"):
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            found.pop(key, None)
    return found


def _finish_port(draft: _Draft, notes: Notes) -> OutputPort | None:
    """Validate the port's fields and checks and keep, on each, what hexmesh has no key for."""
    port = draft.port
    where = f"outputPorts[{port['name']}]"
    finished = []
    for field, prop, at in draft.properties:
        texts = field.pop("customProperties", [])
        made = notes.model(FieldSpec, field, at, f"{where}.{field['name']}")
        if made is None:
            continue
        produced = export_field(made, port.get("primaryKey") or [])
        kept = residue(PREFIX, prop, produced, skip={"quality"})
        own = [CustomProperty.model_validate(c) for c in prop.get("customProperties") or [] if isinstance(c, dict)]
        extra = [CustomProperty.model_validate(t) for t in texts]
        notes.keep(f"{where}.{made.name}", kept + extra)
        finished.append(made.model_copy(update={"custom_properties": own + kept + extra}))
    if len(finished) != len(draft.properties):
        return None
    if finished:
        port = {**port, "properties": [f.model_dump(by_alias=True, exclude_defaults=True) for f in finished]}
    spec = notes.model(OutputPort, port, draft.where, where)
    if spec is None or draft.original is None:
        return spec
    produced = export_object(spec)
    kept = residue(PREFIX, draft.original, produced, skip={"properties", "quality"})
    if draft.texts:
        kept.append(CustomProperty(property=_TEXTS, value=draft.texts))
    own = [
        CustomProperty.model_validate(c) for c in draft.original.get("customProperties") or [] if isinstance(c, dict)
    ]
    notes.keep(where, kept)
    return spec.model_copy(update={"custom_properties": list(spec.custom_properties) + own + kept})


# -- export ----------------------------------------------------------------------------------------


def export_field(
    field: FieldSpec, primary_key: list[str], checks_here: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    prop: dict[str, Any] = {"name": field.name, "logicalType": types.odcs_type(field.logical_type)}
    prop["physicalType"] = field.physical_type or types.physical_type(field.logical_type, field.precision, field.scale)
    if field.required:
        prop["required"] = True
    if field.unique:
        prop["unique"] = True
    if field.name in primary_key:
        prop["primaryKey"] = True
        if len(primary_key) > 1:
            prop["primaryKeyPosition"] = primary_key.index(field.name) + 1
    if field.description:
        prop["description"] = field.description
    if field.classification:
        prop["classification"] = field.classification
    if field.tags:
        prop["tags"] = list(field.tags)
    if field.logical_type_options is not None:
        options = field.logical_type_options.model_dump(by_alias=True, exclude_none=True)
        options.pop("enum", None)
        if options:
            prop["logicalTypeOptions"] = options
    rules = list(checks_here or [])
    if field.logical_type_options is not None and field.logical_type_options.enum is not None:
        rules.append(
            {"metric": "invalidValues", "arguments": {"validValues": field.logical_type_options.enum}, "mustBe": 0}
        )
    rules = _with_texts(rules, field.custom_properties)
    if rules:
        prop["quality"] = rules
    prop = restore(PREFIX, prop, field.custom_properties)
    own = [c for c in foreign(field.custom_properties, PREFIX) if c["property"] != _TEXTS]
    if own:
        prop["customProperties"] = own
    return prop


def _with_texts(rules: list[dict[str, Any]], custom: list[CustomProperty]) -> list[dict[str, Any]]:
    """Rules with the text rules kept at import put back at their places."""
    texts = next((c.value for c in custom if c.property == _TEXTS), None)
    if not texts:
        return rules
    merged = list(rules)
    for item in texts:
        merged.insert(min(int(item["index"]), len(merged)), item["rule"])
    return merged


def export_object(port: OutputPort) -> dict[str, Any]:
    """The ODCS schema object of an output port."""
    by_field: dict[str, list[dict[str, Any]]] = {}
    top: list[dict[str, Any]] = []
    for check in port.quality:
        rule = checks.export_check(PREFIX, check)
        about = checks.native_field(check)
        if about is not None and port.field(about) is not None:
            by_field.setdefault(about, []).append(rule)
        else:
            top.append(rule)
    item: dict[str, Any] = {"name": port.name}
    if port.description:
        item["description"] = port.description
    if port.tags:
        item["tags"] = list(port.tags)
    if not scaffold.is_placeholder(port.custom_properties, scaffold.FIELDS):
        item["properties"] = [export_field(f, port.primary_key, by_field.get(f.name)) for f in port.properties]
    top = _with_texts(top, port.custom_properties)
    if top:
        item["quality"] = top
    item = restore(PREFIX, item, port.custom_properties)
    own = [c for c in foreign(port.custom_properties, PREFIX) if c["property"] not in (_TEXTS, scaffold.PLACEHOLDER)]
    if own:
        item["customProperties"] = own
    return item


def export_contract(spec: DataProductSpec, *, ports: list[str] | None = None) -> dict[str, Any]:
    """The ODCS v3.1.0 contract of ``spec`` (or of some of its ports), with what import kept given back."""
    chosen = [p for p in spec.output_ports if ports is None or p.name in ports]
    document: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "DataContract",
        "id": contract_id(spec, chosen[0].name if ports is not None and len(chosen) == 1 else None),
        "name": spec.name,
        "version": spec.version,
        "status": spec.status,
        "domain": spec.domain,
        "dataProduct": spec.name,
    }
    if spec.description:
        document["description"] = {"purpose": spec.description}
    if spec.tags:
        document["tags"] = list(spec.tags)
    objects = [export_object(p) for p in chosen if not scaffold.is_placeholder(p.custom_properties, True)]
    if objects:
        document["schema"] = objects
    document["team"] = people.export_team(spec.owner, list(spec.contacts))
    roles = people.roles_of(spec.policies.access)
    if roles:
        document["roles"] = roles
    sla: list[dict[str, Any]] = []
    for port in chosen:
        if port.slo is not None:
            sla += slas.slo_properties(port.name, port.event_time, port.slo.model_dump(exclude_none=True))
    if sla:
        document["slaProperties"] = sla
    document = restore(PREFIX, document, spec.custom_properties)
    own = foreign(spec.custom_properties, PREFIX)
    kept = _policies(spec)
    if own or kept:
        document["customProperties"] = own + kept
    return document


def _policies(spec: DataProductSpec) -> list[dict[str, Any]]:
    """hexmesh policies ODCS roles cannot say (privacy rules, rows, columns...), as one custom property."""
    value = people.exported_value(spec)
    return [{"property": people.POLICIES, "value": value}] if value else []
