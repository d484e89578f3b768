"""Rules a single spec must follow beyond its shape: names that refer to things that exist."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from hexmesh.errors import SpecError, SpecProblem
from hexmesh.spec.address import parse_address
from hexmesh.spec.confinement import Confinement
from hexmesh.spec.loader import LoadedSpec, Path_
from hexmesh.spec.model import DatabaseSourceSpec, DataProductSpec, FieldSpec, OutputPort, SensorTrigger, SourceSpec

__all__ = ["check_spec", "path_problems", "spec_problems"]

_TIME_TYPES = ("date", "timestamp")


def check_spec(loaded: LoadedSpec, confinement: Confinement | None = None) -> None:
    """Raise :class:`SpecError` with every rule the spec breaks."""
    problems = spec_problems(loaded, confinement)
    if problems:
        raise SpecError(problems)


def spec_problems(loaded: LoadedSpec, confinement: Confinement | None = None) -> list[SpecProblem]:
    """Every rule the spec breaks, each located in the file.

    ``confinement`` names the node's source roots and home (default: only the product folder).
    """
    marks = loaded.marks
    rules = _rules(loaded.spec, loaded, confinement or Confinement(loaded.folder))
    return [SpecProblem(marks.at(path), message, hint) for path, message, hint in rules]


def path_problems(loaded: LoadedSpec, confinement: Confinement) -> list[SpecProblem]:
    """Only the paths that lead outside what ``confinement`` allows (what deploy re-checks)."""
    marks = loaded.marks
    return [SpecProblem(marks.at(path), message, hint) for path, message, hint in _paths(loaded.spec, confinement)]


Finding = tuple[Path_, str, str]

_KEEP_INSIDE = "name a file in the product folder, relative to it (the bundle holds nothing else)"
_SOURCE_INSIDE = (
    "keep the files in the product folder, or under a folder the node allows in its source_roots "
    "setting (HEXMESH_SOURCE_ROOTS; default <home>/landing)"
)


def _paths(spec: DataProductSpec, confinement: Confinement) -> Iterator[Finding]:
    """Paths that lead outside the product folder (or, for file sources, the node's source roots)."""
    code = spec.transformation
    named: list[tuple[Path_, str, str]] = []
    if spec.docs:
        named.append((("docs",), "docs file", spec.docs))
    if code is not None and isinstance(code.sql, str):
        named.append((("transformation", "sql"), "SQL file", code.sql))
    elif code is not None and isinstance(code.sql, dict):
        named += [(("transformation", "sql", port), "SQL file", file) for port, file in code.sql.items()]
    elif code is not None and code.python is not None:
        named.append((("transformation", "python"), "Python file", code.python.split(":", 1)[0]))
    for path, what, text in named:
        reason = confinement.escape(text)
        if reason:
            yield path, f"{what} {text!r} {reason}", _KEEP_INSIDE
    for index, port in enumerate(spec.input_ports):
        source = port.source
        if isinstance(source, SourceSpec) and "${" not in source.path:  # ${VAR}: checked when run
            reason = confinement.escape(source.path, roots=True)
            if reason:
                yield ("inputPorts", index, "source", "path"), f"source path {source.path!r} {reason}", _SOURCE_INSIDE
        if (
            isinstance(source, DatabaseSourceSpec)
            and source.database.startswith("sqlite:///")
            and "${" not in source.database
        ):
            file = source.database.removeprefix("sqlite:///").split("?", 1)[0]
            reason = confinement.escape(file, roots=True)
            if reason:
                yield ("inputPorts", index, "source", "database"), f"SQLite file {file!r} {reason}", _SOURCE_INSIDE


def _escapes(loaded: LoadedSpec, confinement: Confinement) -> set[str]:
    spec = loaded.spec
    code = spec.transformation
    texts = [spec.docs or ""]
    if code is not None:
        texts += [code.sql] if isinstance(code.sql, str) else list((code.sql or {}).values())
        texts += [code.python.split(":", 1)[0]] if code.python else []
    return {t for t in texts if t and confinement.escape(t)}


def _rules(spec: DataProductSpec, loaded: LoadedSpec, confinement: Confinement) -> Iterator[Finding]:
    yield from _paths(spec, confinement)
    escaping = _escapes(loaded, confinement)
    yield from _duplicates("inputPorts", [p.name for p in spec.input_ports], "input port")
    yield from _duplicates("outputPorts", [p.name for p in spec.output_ports], "output port")
    for index, port in enumerate(spec.input_ports):
        if port.from_ is not None:
            yield from _address(("inputPorts", index, "from"), port.from_, need_port=True)
    for index, output in enumerate(spec.output_ports):
        yield from _output(("outputPorts", index), output)
    yield from _transformation(spec, loaded, escaping)
    yield from _sql_names(spec)
    yield from _sensor(spec)
    if spec.docs and spec.docs not in escaping and not (loaded.folder / spec.docs).is_file():
        yield (
            ("docs",),
            f"docs file {spec.docs!r} does not exist next to the spec",
            "create it or remove the docs key",
        )


def _sensor(spec: DataProductSpec) -> Iterator[Finding]:
    """A sensor watches input ports that read a source (files, ingest, PostgreSQL), and at least one."""
    trigger = spec.trigger
    if not isinstance(trigger, SensorTrigger):
        return
    sourced = [p.name for p in spec.input_ports if p.source is not None]
    if not sourced:
        yield (
            ("trigger",),
            "a sensor trigger needs an input port with a source (files, HTTP ingest or PostgreSQL), and this "
            "product has none",
            "add an input port with source:, or use trigger: upstream",
        )
    if isinstance(trigger.sources, list):
        for index, name in enumerate(trigger.sources):
            if name not in sourced:
                yield (
                    ("trigger", "sources", index),
                    f"sensor source {name!r} is not an input port with a source",
                    f"use all or one of: {', '.join(sourced) or '(none)'}",
                )


def _sql_names(spec: DataProductSpec) -> Iterator[Finding]:
    """Two ports may not claim one SQL name (declared ``sqlName`` or the default ``<product>__<port>``)."""
    claimed: dict[str, str] = {}
    for index, port in enumerate(spec.output_ports):
        name = ".".join(spec.sql_name(port))
        other = claimed.setdefault(name, port.name)
        if other != port.name:
            yield (
                ("outputPorts", index, "sqlName" if port.sql_name else "name"),
                f"output ports {other!r} and {port.name!r} both claim the SQL name {name}",
                "give one of them another sqlName",
            )


def _duplicates(where: str, names: Iterable[str], what: str) -> Iterator[Finding]:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            yield (
                (where, index, "name"),
                f"duplicate {what} name {name!r}",
                f"each {what} needs its own name; rename or remove this one",
            )
        seen.add(name)


def _address(path: Path_, text: str, *, need_port: bool = False, need_field: bool = False) -> Iterator[Finding]:
    try:
        address = parse_address(text, default_scheme=False)
    except ValueError as exc:
        yield path, str(exc), ""
        return
    if need_port and (address.port is None or address.field is not None):
        yield path, f"{text!r} must name an output port", "write dp://<domain>/<product>/<port>"
    if need_field and (address.port is None or address.field is None):
        yield path, f"{text!r} must name a field", "write dp://<domain>/<product>/<port>#<field>"


def _output(path: Path_, port: OutputPort) -> Iterator[Finding]:
    names = [f.name for f in port.properties]
    yield from ((path + p[0][1:], p[1], p[2]) for p in _duplicates("properties", names, "field"))
    known = set(names)
    for index, spec_field in enumerate(port.properties):
        field_path = (*path, "properties", index)
        if spec_field.logical_type == "decimal" and spec_field.precision is None:
            yield (
                (*field_path, "logicalType"),
                f"decimal field {spec_field.name!r} needs a precision",
                "add precision: 18 and scale: 2 (for example)",
            )
        if spec_field.logical_type != "decimal" and (spec_field.precision or spec_field.scale):
            yield (
                field_path,
                f"precision and scale apply to decimal fields only ({spec_field.name!r})",
                "remove them or make the field a decimal",
            )
        for link_index, link in enumerate(spec_field.links):
            yield from _address((*field_path, "links", link_index), link, need_field=True)
    if port.event_time is not None:
        event = port.field(port.event_time)
        if event is None:
            yield (
                (*path, "eventTime"),
                f"eventTime {port.event_time!r} is not a field of port {port.name!r}",
                f"use one of: {', '.join(names)}",
            )
        elif event.logical_type not in _TIME_TYPES:
            yield (
                (*path, "eventTime"),
                f"eventTime {port.event_time!r} is a {event.logical_type}, not a date or timestamp",
                "point eventTime at a date or timestamp field",
            )
    for index, key in enumerate(port.primary_key):
        if key not in known:
            yield (
                (*path, "primaryKey", index),
                f"primary key field {key!r} is not a field of port {port.name!r}",
                f"use one of: {', '.join(names)}",
            )
    for index, check in enumerate(port.quality):
        yield from _check_fields((*path, "quality", index), check.kind, check.columns, known, port)
    drift = port.slo.drift if port.slo else None
    for index, name in enumerate(drift.fields if drift else []):
        if name not in known:
            yield (
                (*path, "slo", "drift", "fields", index),
                f"drift field {name!r} is not a field of port {port.name!r}",
                f"use one of: {', '.join(names)}",
            )
    for index, spec_field in enumerate(port.properties):
        yield from _options((*path, "properties", index, "logicalTypeOptions"), spec_field)


_TEXT_OPTIONS = {"min_length": "minLength", "max_length": "maxLength", "pattern": "pattern"}
_ORDERED = ("integer", "number", "decimal", "date", "timestamp", "time")


def _options(path: Path_, spec_field: FieldSpec) -> Iterator[Finding]:
    """Constraints that can apply to the field's type (a length of a number cannot)."""
    options = spec_field.logical_type_options
    if options is None:
        return
    kind = spec_field.logical_type
    text = [name for key, name in _TEXT_OPTIONS.items() if getattr(options, key) is not None]
    if text and kind != "string":
        yield (
            path,
            f"{', '.join(text)} only apply to string fields; {spec_field.name!r} is a {kind}",
            "remove them or make the field a string",
        )
    if options.bounds and kind not in _ORDERED:
        yield (
            path,
            f"minimum/maximum apply to numbers, dates, timestamps and times; {spec_field.name!r} is a {kind}",
            "remove the bounds",
        )
    for key, _, bound in options.bounds:
        if isinstance(bound, str) and kind in ("integer", "number", "decimal"):
            name = "".join(part.title() if i else part for i, part in enumerate(key.split("_")))
            yield (path, f"{name} {bound!r} of the {kind} field {spec_field.name!r} is not a number", "write a number")


def _check_fields(path: Path_, kind: str, fields: list[str], known: set[str], port: OutputPort) -> Iterator[Finding]:
    for name in fields:
        if name not in known:
            yield (
                path,
                f"quality check {kind} names {name!r}, which is not a field of port {port.name!r}",
                f"use one of: {', '.join(sorted(known))}",
            )
    if kind == "freshness" and not fields and port.event_time is None:
        yield (
            path,
            f"a freshness check needs a field, and port {port.name!r} has no eventTime",
            "add field: <timestamp field> to the check or eventTime to the port",
        )


def _transformation(spec: DataProductSpec, loaded: LoadedSpec, escaping: set[str]) -> Iterator[Finding]:
    transformation = spec.transformation
    outputs = [p.name for p in spec.output_ports]
    if transformation is None:
        if len(spec.input_ports) != 1 or len(outputs) != 1:
            yield (
                ("outputPorts",),
                "without a transformation a product must have one input and one output port",
                "add transformation: {sql: transform.sql}",
            )
        return
    folder = loaded.folder
    if isinstance(transformation.sql, str):
        if len(outputs) != 1:
            yield (
                ("transformation", "sql"),
                f"one SQL file cannot fill {len(outputs)} output ports",
                "map each output port to its own file: sql: {port: file.sql}",
            )
        if transformation.sql not in escaping and not (folder / transformation.sql).is_file():
            yield (
                ("transformation", "sql"),
                f"SQL file {transformation.sql!r} does not exist",
                "create it next to the spec",
            )
    elif isinstance(transformation.sql, dict):
        for port, file in transformation.sql.items():
            if port not in outputs:
                yield (
                    ("transformation", "sql", port),
                    f"{port!r} is not an output port",
                    f"use one of: {', '.join(outputs)}",
                )
            if file not in escaping and not (folder / file).is_file():
                yield (
                    ("transformation", "sql", port),
                    f"SQL file {file!r} does not exist",
                    "create it next to the spec",
                )
        for port in outputs:
            if port not in transformation.sql:
                yield (
                    ("transformation", "sql"),
                    f"output port {port!r} has no SQL file",
                    f"add {port}: {port}.sql",
                )
    elif transformation.python is not None:
        file = transformation.python.split(":", 1)[0]
        if file not in escaping and not (folder / file).is_file():
            yield (
                ("transformation", "python"),
                f"Python file {file!r} does not exist",
                "create it next to the spec",
            )
