"""The Data Contract Specification (datacontract.com, 0.9–1.2) ↔ a hexmesh product.

``models`` become output ports and their ``fields`` fields (``$ref``s to ``definitions`` are
resolved); field constraints (``enum``, ``pattern``, lengths, bounds) become
``logicalTypeOptions``; ``quality`` rules become checks (:mod:`.checks`), the 0.9 top-level
SodaCL block too (:mod:`.sodacl`); ``servicelevels`` become SLOs. The specification has no
domain: ``hexmesh import`` needs ``--domain``. hexmesh writes version 1.2.1.
"""

from __future__ import annotations

from typing import Any

from hexmesh.errors import SpecError, SpecProblem
from hexmesh.spec import DataProductSpec, FieldSpec, OutputPort
from hexmesh.spec.base import CustomProperty
from hexmesh.standards import checks, people, scaffold, slas, sodacl, types
from hexmesh.standards.imported import Imported, Notes, Options, Source
from hexmesh.standards.names import field_name, port_name, product_name, unique_name
from hexmesh.standards.odcs import semver, status_of
from hexmesh.standards.readme import readme
from hexmesh.standards.residue import residue, restore
from hexmesh.standards.schemas import schema_problems

__all__ = ["PREFIX", "VERSION", "export_contract", "import_contract"]

PREFIX = "dcs"
VERSION = "1.2.1"
_KEY = f"{PREFIX}.key"
_SODA = "hexmesh.sodacl"
_TEXTS = "hexmesh.textRules"
_OPTIONS = ("enum", "minLength", "maxLength", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
_INTERVALS = {"hourly": "1h", "daily": "1d", "weekly": "1w", "monthly": "30d", "yearly": "1y"}


def import_contract(source: Source, options: Options) -> Imported:
    """The product of a Data Contract Specification document; SpecError lists every problem."""
    notes = Notes()
    document = source.data
    problems = schema_problems("dcs", document, source.marks)
    if problems:
        raise SpecError(problems)
    info = document.get("info") or {}
    domain = options.domain or info.get("x-domain")
    if not domain:
        raise SpecError([SpecProblem(source.at(()), "the Data Contract Specification has no domain", "pass --domain")])
    definitions = document.get("definitions") or {}
    drafts: list[tuple[dict[str, Any], dict[str, Any], str, list[tuple[dict[str, Any], dict[str, Any], str]]]] = []
    for key, model in (document.get("models") or {}).items():
        name = unique_name(port_name(str(key)), [d[0]["name"] for d in drafts])
        drafts.append(_port(source, str(key), name, model or {}, definitions, notes))
    _soda(source, document.get("quality"), drafts, notes)
    levels = _levels(document.get("servicelevels") or {}, {d[2]: d[0]["name"] for d in drafts})
    ports = [d[0] for d in drafts]
    for port in ports:
        if levels.slos.get(None):
            port["slo"] = dict(levels.slos[None])
        event = levels.event_times.get(port["name"])
        kinds = {f["name"]: f["logicalType"] for f in port["properties"]}
        if event and kinds.get(event) in ("date", "timestamp") and "eventTime" not in port:
            port["eventTime"] = event
    for item in levels.unchecked:
        notes.changed.append(f"servicelevels.{item}: kept, not checked (it describes the service, not the data)")
    scaffold.subject_tags(ports, notes)
    outputs = [_finish(source, d, notes) for d in drafts]
    if notes.problems:
        raise SpecError(notes.problems)
    finished = [p for p in outputs if p is not None]
    if not finished:
        finished = [OutputPort.model_validate(scaffold.placeholder_port("output", "the contract declares no model"))]
    owner = str(info.get("owner") or options.owner or domain)
    if not info.get("owner"):
        notes.changed.append(f"owner: the contract names no owner: hexmesh uses {owner!r}; change it")
    contact = info.get("contact") or {}
    contacts = [str(contact[k]) for k in ("email", "url") if contact.get(k)][:1]
    dumped = [p.model_dump(by_alias=True, exclude_defaults=True) for p in finished]
    transformation, files = scaffold.transformation(dumped, [])
    notes.changed.append("transformation: SQL that publishes no rows until you write it")
    data: dict[str, Any] = {
        "domain": product_name(str(domain)),
        "name": product_name(str(document.get("id") or info.get("title"))),
        "version": semver(info.get("version"), notes, "info.version"),
        "status": status_of(info.get("status"), notes, "info.status"),
        "owner": owner,
        "contacts": contacts,
        "description": str(info.get("description") or "").strip(),
        "docs": "README.md",
        "tags": [str(t) for t in document.get("tags") or []],
        "outputPorts": dumped,
        "policies": people.policies(finished, people.kept_value(info.get(people.X_POLICIES)), [], notes),
    }
    if transformation is not None:
        data["transformation"] = transformation
    spec = notes.model(DataProductSpec, data, source.at(()), "contract")
    if spec is None:
        raise SpecError(notes.problems)
    kept = residue(PREFIX, document, export_contract(spec), skip={"models", "quality"})
    if "quality" in document:
        kept.append(CustomProperty(property=f"{PREFIX}.quality", value=document["quality"]))
    notes.keep("contract", kept)
    final = {
        **spec.model_dump(by_alias=True, exclude_defaults=True),
        "customProperties": [c.model_dump(exclude_none=True) for c in kept],
    }
    text = readme(
        str(info.get("title") or spec.name),
        info.get("description"),
        ports=[(p.name, {"description": p.description}) for p in finished],
        sections=[("Terms", _terms(document.get("terms")))],
        source=f"Imported from the Data Contract Specification document {source.file.name} (id {document.get('id')}).",
    )
    return Imported("dcs", [source.file], DataProductSpec.model_validate(final), text, files, notes)


def _terms(terms: Any) -> str:
    if not isinstance(terms, dict):
        return ""
    return "\n\n".join(f"**{k}**: {str(v).strip()}" for k, v in terms.items() if isinstance(v, str))


Draft = tuple[dict[str, Any], dict[str, Any], str, list[tuple[dict[str, Any], dict[str, Any], str]]]


def _resolve(field: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """A field with the definition its ``$ref`` names merged under its own keys."""
    ref = field.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/definitions/"):
        found = definitions.get(ref.removeprefix("#/definitions/"))
        if isinstance(found, dict):
            return {**{k: v for k, v in found.items() if k not in ("name", "title")}, **field}
    return field


def _port(
    source: Source, key: str, name: str, model: dict[str, Any], definitions: dict[str, Any], notes: Notes
) -> Draft:
    path = ("models", key)
    columns: dict[str, str] = {}
    for fkey in model.get("fields") or {}:
        columns[str(fkey)] = unique_name(field_name(str(fkey)), columns.values())
    fields: list[tuple[dict[str, Any], dict[str, Any], str]] = []
    quality: list[dict[str, Any]] = []
    keys = [columns.get(str(k), str(k)) for k in model.get("primaryKey") or []]
    for fkey, raw in (model.get("fields") or {}).items():
        original = raw if isinstance(raw, dict) else {}
        resolved = _resolve(original, definitions)
        fname = columns[str(fkey)]
        field = _field(resolved, fname)
        if resolved.get("primaryKey") or resolved.get("primary"):
            keys.append(fname)
        rules = checks.import_rules(
            PREFIX,
            list(resolved.get("quality") or []),
            path=(*path, "fields", fkey, "quality"),
            where=source.at,
            field_name=fname,
            columns=columns,
        )
        notes.problems += rules.problems
        quality += rules.checks
        if rules.texts:
            field["customProperties"] = [{"property": _TEXTS, "value": rules.texts}]
        if fname != str(fkey):
            field.setdefault("customProperties", []).append({"property": _KEY, "value": str(fkey)})
        fields.append((field, resolved, str(fkey)))
    rules = checks.import_rules(
        PREFIX,
        list(model.get("quality") or []),
        path=(*path, "quality"),
        where=source.at,
        field_name=None,
        columns=columns,
    )
    notes.problems += rules.problems
    port: dict[str, Any] = {"name": name, "properties": [f for f, _, _ in fields]}
    if model.get("description"):
        port["description"] = str(model["description"])
    tags = (model.get("config") or {}).get("tags") if isinstance(model.get("config"), dict) else None
    if isinstance(tags, list) and tags:
        port["tags"] = [str(t) for t in tags]
    if keys:
        port["primaryKey"] = list(dict.fromkeys(keys))
    if rules.checks or quality:
        port["quality"] = rules.checks + quality
    custom = []
    if rules.texts:
        custom.append({"property": _TEXTS, "value": rules.texts})
    if name != key:
        custom.append({"property": _KEY, "value": key})
    if custom:
        port["customProperties"] = custom
    if not fields:
        port["properties"] = scaffold.placeholder_port(name, "")["properties"]
        port.setdefault("customProperties", []).append({"property": scaffold.PLACEHOLDER, "value": scaffold.FIELDS})
        notes.changed.append(f"outputPorts[{name}]: the model declares no fields: placeholder field value")
    return port, model, key, fields


def _field(item: dict[str, Any], name: str) -> dict[str, Any]:
    field: dict[str, Any] = {"name": name, **types.from_dcs(item.get("type"), item.get("precision"), item.get("scale"))}
    raw = item.get("config")
    config: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if config.get("physicalType"):
        field["physicalType"] = str(config["physicalType"])
    if item.get("required"):
        field["required"] = True
    if item.get("unique"):
        field["unique"] = True
    if item.get("description"):
        field["description"] = str(item["description"])
    classification = people.classification_of(item.get("classification"))
    if item.get("pii") and classification not in ("personal", "restricted"):
        classification = "personal"
    if classification:
        field["classification"] = classification
    if item.get("tags"):
        field["tags"] = [str(t) for t in item["tags"]]
    options = {k: item[k] for k in _OPTIONS if k in item}
    if field["logicalType"] != "string":
        for k in ("minLength", "maxLength", "pattern"):
            options.pop(k, None)
    if field["logicalType"] not in ("integer", "number", "decimal", "date", "timestamp", "time"):
        for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            options.pop(k, None)
    if options:
        field["logicalTypeOptions"] = options
    return field


def _soda(source: Source, quality: Any, drafts: list[Draft], notes: Notes) -> None:
    """The 0.9 top-level SodaCL block: ``checks for <model>: [lines]`` become that port's checks."""
    if not isinstance(quality, dict) or str(quality.get("type", "")).lower() != "sodacl":
        return
    specification = quality.get("specification")
    if isinstance(specification, str):
        from hexmesh.spec import safe_yaml
        from hexmesh.spec.loader import YamlLoader

        specification = safe_yaml.load(specification, YamlLoader)
    for heading, lines in (specification or {}).items():
        model = str(heading).removeprefix("checks for ").strip()
        draft = next((d for d in drafts if d[2] == model), None)
        at = source.at(("quality", "specification", heading))
        if draft is None:
            notes.problems.append(SpecProblem(at, f"SodaCL checks for {model!r}, which is not a model", ""))
            continue
        columns = {key: f["name"] for f, _, key in draft[3]}
        for line in lines or []:
            try:
                check = sodacl.checks_of_line(str(line), columns)
            except ValueError as exc:
                notes.problems.append(SpecProblem(at, str(exc), "rewrite it as a quality rule with mustBe…"))
                continue
            check["customProperties"] = [{"property": _SODA, "value": str(line)}]
            draft[0].setdefault("quality", []).append(check)


def _levels(levels: dict[str, Any], models: dict[str, str]) -> slas.Levels:
    found = slas.Levels()
    every: dict[str, str] = {}
    for name, item in levels.items():
        item = item if isinstance(item, dict) else {}
        text = None
        column = ""
        if name == "latency":
            text, column = item.get("threshold"), str(item.get("sourceTimestampField") or "")
            key = "timeliness"
        elif name == "freshness":
            text, column, key = item.get("threshold"), str(item.get("timestampField") or ""), "freshness"
        elif name == "retention" and not item.get("unlimited"):
            text, key = item.get("period"), "retention"
        elif name == "frequency":
            text, key = _INTERVALS.get(str(item.get("interval", "")).lower()), "freshness"
        else:
            found.unchecked.append(name)
            continue
        duration = slas.duration_of(text, None) if text else None
        if duration is None:
            found.unchecked.append(name)
            continue
        every.setdefault(key, duration)
        model, _, field = column.partition(".")
        if key == "timeliness" and field and model in models:
            found.event_times[models[model]] = field
    if every:
        found.slos[None] = every
    return found


def _finish(source: Source, draft: Draft, notes: Notes) -> OutputPort | None:
    port, model, key, fields = draft
    where = f"outputPorts[{port['name']}]"
    finished = []
    for field, original, fkey in fields:
        extra = field.pop("customProperties", [])
        made = notes.model(FieldSpec, field, source.at(("models", key, "fields", fkey)), f"{where}.{field['name']}")
        if made is None:
            return None
        produced = export_field(made, port.get("primaryKey") or [])
        kept = residue(PREFIX, original, produced, skip={"quality"})
        notes.keep(f"{where}.{made.name}", kept)
        custom = [CustomProperty.model_validate(c) for c in extra] + kept
        finished.append(made.model_copy(update={"custom_properties": custom}))
    if finished:
        port = {**port, "properties": [f.model_dump(by_alias=True, exclude_defaults=True) for f in finished]}
    spec = notes.model(OutputPort, port, source.at(("models", key)), where)
    if spec is None:
        return None
    kept = residue(PREFIX, model, export_model(spec), skip={"fields", "quality"})
    notes.keep(where, kept)
    return spec.model_copy(update={"custom_properties": [*spec.custom_properties, *kept]})


# -- export ----------------------------------------------------------------------------------------


def export_field(field: FieldSpec, primary_key: list[str], rules: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"type": types.dcs_type(field.logical_type)}
    if field.logical_type == "decimal":
        item["precision"] = field.precision or 38
        item["scale"] = field.scale or 0
    if field.required:
        item["required"] = True
    if field.unique:
        item["unique"] = True
    if field.description:
        item["description"] = field.description
    if field.classification:
        item["classification"] = field.classification
    if field.tags:
        item["tags"] = list(field.tags)
    if field.logical_type_options is not None:
        item |= field.logical_type_options.model_dump(by_alias=True, exclude_none=True)
    if field.physical_type:
        item["config"] = {"physicalType": field.physical_type}
    rules = _with_texts(list(rules or []), field.custom_properties)
    if rules:
        item["quality"] = rules
    return restore(PREFIX, item, field.custom_properties)


def _with_texts(rules: list[dict[str, Any]], custom: list[CustomProperty]) -> list[dict[str, Any]]:
    texts = next((c.value for c in custom if c.property == _TEXTS), None)
    for item in texts or []:
        rules.insert(min(int(item["index"]), len(rules)), item["rule"])
    return rules


def _key(custom: list[CustomProperty], name: str, make: Any) -> str:
    """The document's own key for a port or field, while hexmesh's name is still made from it."""
    kept = next((c.value for c in custom if c.property == _KEY), None)
    return str(kept) if kept is not None and make(str(kept)) == name else name


def export_model(port: OutputPort) -> dict[str, Any]:
    by_field: dict[str, list[dict[str, Any]]] = {}
    top: list[dict[str, Any]] = []
    for check in port.quality:
        if any(c.property == _SODA for c in check.custom_properties):
            continue  # kept, and written back, as the contract's own SodaCL block
        rule = checks.export_check(PREFIX, check)
        about = checks.native_field(check)
        (by_field.setdefault(about, []) if about and port.field(about) else top).append(rule)
    model: dict[str, Any] = {}
    if port.description:
        model["description"] = port.description
    if port.tags:
        model["config"] = {"tags": list(port.tags)}  # DCS models have no tags; config takes any keys
    if not scaffold.is_placeholder(port.custom_properties, scaffold.FIELDS):
        model["fields"] = {
            _key(f.custom_properties, f.name, field_name): export_field(f, port.primary_key, by_field.get(f.name))
            for f in port.properties
        }
    if port.primary_key:
        model["primaryKey"] = list(port.primary_key)
    top = _with_texts(top, port.custom_properties)
    if top:
        model["quality"] = top
    return restore(PREFIX, model, port.custom_properties)


def export_contract(spec: DataProductSpec) -> dict[str, Any]:
    """The Data Contract Specification 1.2.1 document of ``spec``."""
    info: dict[str, Any] = {
        "title": spec.name,
        "version": spec.version,
        "status": spec.status,
        "owner": spec.owner,
        "x-domain": spec.domain,
    }
    policies = people.exported_value(spec)
    if policies:
        info[people.X_POLICIES] = policies
    if spec.description:
        info["description"] = spec.description
    if spec.contacts:
        info["contact"] = {"email" if "@" in spec.contacts[0] else "url": spec.contacts[0]}
    models = {
        _key(p.custom_properties, p.name, port_name): export_model(p)
        for p in spec.output_ports
        if not scaffold.is_placeholder(p.custom_properties, True)
    }
    document: dict[str, Any] = {"dataContractSpecification": VERSION, "id": spec.name, "info": info}
    if models:
        document["models"] = models
    levels = _export_levels(spec)
    if levels:
        document["servicelevels"] = levels
    if spec.tags:
        document["tags"] = list(spec.tags)
    return restore(PREFIX, document, spec.custom_properties)


def _export_levels(spec: DataProductSpec) -> dict[str, Any]:
    levels: dict[str, Any] = {}
    for port in spec.output_ports:
        slo = port.slo
        if slo is None:
            continue
        if slo.timeliness and "latency" not in levels:
            levels["latency"] = {"threshold": slo.timeliness}
            if port.event_time:
                levels["latency"]["sourceTimestampField"] = f"{port.name}.{port.event_time}"
        if slo.freshness and "freshness" not in levels:
            levels["freshness"] = {"threshold": slo.freshness}
        if slo.retention and "retention" not in levels:
            levels["retention"] = {"period": slo.retention}
    return levels
