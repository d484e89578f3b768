"""Load ``dataproduct.yaml`` into a :class:`DataProductSpec`; every problem located at ``file:line:col``."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from hexmesh.errors import ProblemLocation, SpecError, SpecProblem
from hexmesh.spec import safe_yaml
from hexmesh.spec.model import DataProductSpec

__all__ = ["SPEC_FILENAME", "LoadedSpec", "Marks", "YamlLoader", "load_spec", "parse_spec", "read_document"]

SPEC_FILENAME = "dataproduct.yaml"

Path_ = tuple[str | int, ...]


@dataclass
class Marks:
    """Positions of every key and value in a YAML document, by path."""

    file: str
    values: dict[Path_, ProblemLocation] = field(default_factory=dict)
    keys: dict[Path_, ProblemLocation] = field(default_factory=dict)

    def at(self, path: Path_, *, key: bool = False) -> ProblemLocation | None:
        """The closest known position for ``path`` (walking up to its parents)."""
        table = self.keys if key else self.values
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if key and probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), ProblemLocation(self.file, 1, 1))


@dataclass
class LoadedSpec:
    """A valid spec, the folder it came from, and where each of its parts is written."""

    spec: DataProductSpec
    file: Path
    marks: Marks

    @property
    def folder(self) -> Path:
        return self.file.parent


class _SpecLoader(yaml.SafeLoader):
    """Safe YAML where dates stay strings (a version or a date is text in a spec)."""


_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _loc(file: str, mark: yaml.Mark) -> ProblemLocation:
    return ProblemLocation(file, mark.line + 1, mark.column + 1)


def _walk(node: yaml.Node, path: Path_, marks: Marks, problems: list[SpecProblem]) -> None:
    marks.values[path] = _loc(marks.file, node.start_mark)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                problems.append(
                    SpecProblem(
                        _loc(marks.file, key_node.start_mark),
                        f"duplicate key {key!r}",
                        "a key may appear once per mapping; remove or merge the repeats",
                    )
                )
            seen.add(key)
            marks.keys[(*path, key)] = _loc(marks.file, key_node.start_mark)
            _walk(value_node, (*path, key), marks, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), marks, problems)


YamlLoader = _SpecLoader


def read_document(text: str, file: str | Path) -> tuple[Any, Marks]:
    """Any YAML (or JSON) document with the position of each key and value; dates stay strings.

    Raises:
        SpecError: malformed YAML, a bomb (too deep, too many aliases), or a key repeated in a
            mapping, at its ``file:line:col``.
    """
    name = str(file)
    marks = Marks(name)
    problems: list[SpecProblem] = []
    node, data = _compose(text, name)
    if node is not None:
        _walk(node, (), marks, problems)
    if problems:
        raise SpecError(problems)
    return data, marks


def _compose(text: str, name: str) -> tuple[yaml.Node | None, Any]:
    try:
        node = safe_yaml.compose(text, _SpecLoader)
        return node, safe_yaml.construct(node, _SpecLoader)
    except safe_yaml.YAMLLimitError as exc:
        mark = exc.problem_mark
        where = _loc(name, mark) if mark else ProblemLocation(name, 1, 1)
        raise SpecError([SpecProblem(where, str(exc.problem), "")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _loc(name, mark) if mark else ProblemLocation(name, 1, 1)
        raise SpecError(
            [
                SpecProblem(
                    where,
                    f"malformed YAML: {exc.problem or exc}",
                    "fix the YAML syntax at this position (indentation, quotes, colons)",
                )
            ]
        ) from None


def parse_spec(text: str, file: str | Path) -> tuple[DataProductSpec, Marks]:
    """Parse and validate spec text; raise :class:`SpecError` listing every problem."""
    name = str(file)
    marks = Marks(name)
    problems: list[SpecProblem] = []
    node, data = _compose(text, name)
    if node is None or not isinstance(node, yaml.MappingNode):
        raise SpecError(
            [
                SpecProblem(
                    ProblemLocation(name, 1, 1),
                    "the spec must be a YAML mapping (domain, name, version, ...)",
                    "run `hexmesh init` for a working example",
                )
            ]
        )
    _walk(node, (), marks, problems)
    try:
        spec = DataProductSpec.model_validate(data)
    except ValidationError as exc:
        problems.extend(_problems_from(exc, marks, data))
        raise SpecError(_dedupe(problems)) from None
    if problems:
        raise SpecError(problems)
    return spec, marks


def load_spec(path: str | Path) -> LoadedSpec:
    """Load a spec file, or the ``dataproduct.yaml`` inside a folder."""
    file = Path(path)
    if file.is_dir():
        file = file / SPEC_FILENAME
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(
            [
                SpecProblem(
                    None,
                    f"no spec at {file}",
                    "pass a product folder or its dataproduct.yaml, or run `hexmesh init`",
                )
            ]
        ) from None
    except UnicodeDecodeError as exc:
        raise SpecError(
            [
                SpecProblem(
                    ProblemLocation(str(file), 1, 1),
                    f"the spec is not UTF-8 text ({exc.reason})",
                    "save it as UTF-8",
                )
            ]
        ) from None
    spec, marks = parse_spec(text, file)
    return LoadedSpec(spec, file.resolve(), marks)


def _dedupe(problems: list[SpecProblem]) -> list[SpecProblem]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for problem in problems:
        key = (str(problem.location), problem.message)
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return sorted(unique, key=lambda p: (p.location.line, p.location.column) if p.location else (0, 0))


def _data_path(loc: tuple[int | str, ...], marks: Marks) -> Path_:
    """Drop pydantic's union tags (``str``, ``dict[...]``) that are not part of the document."""
    path: list[str | int] = []
    for part in loc:
        candidate = (*path, part)
        if candidate in marks.values or candidate in marks.keys:
            path.append(part)
    return tuple(path)


def _allowed_keys(loc: Path_) -> list[str]:
    """The keys a mapping at ``loc`` accepts, to suggest the closest one."""
    model: Any = DataProductSpec
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        info = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        if info is None:
            return []
        model = _inner_model(info.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or n for n, f in model.model_fields.items()]
    return []


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


_PATTERN_HINTS = {
    "domain": "use lower-case letters and digits joined by hyphens, for example podcasts",
    "name": "use lower-case letters and digits joined by hyphens, for example play-events",
    "version": "use semantic versioning MAJOR.MINOR.PATCH (numbers of at most 9 digits), for example 1.0.0",
}


def _readable(loc: Path_, data: Any) -> str:
    """``outputPorts[plays].properties[listener_id]`` rather than ``outputPorts.0.properties.3``."""
    text = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
            name = node.get("name") if isinstance(node, dict) else None
            text += f"[{name}]" if isinstance(name, str) else f"[{part}]"
        else:
            node = node.get(part) if isinstance(node, dict) else None
            text += ("." if text else "") + part
    return text or "spec"


def _problems_from(exc: ValidationError, marks: Marks, data: Any) -> list[SpecProblem]:
    problems = []
    for error in exc.errors():
        loc = _data_path(error["loc"], marks)
        kind = error["type"]
        last = error["loc"][-1] if error["loc"] else ""
        if kind == "extra_forbidden":
            allowed = _allowed_keys(loc[:-1])
            close = difflib.get_close_matches(str(last), allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"allowed keys: {', '.join(allowed)}"
            problems.append(SpecProblem(marks.at(loc, key=True), f"unknown key {last!r}", hint))
        elif kind == "missing":
            problems.append(SpecProblem(marks.at(loc), f"missing required key {last!r}", f"add {last}: … here"))
        elif kind == "string_pattern_mismatch":
            field = next((p for p in reversed(loc) if isinstance(p, str)), "")
            hint = _PATTERN_HINTS.get(field, f"it must match {error.get('ctx', {}).get('pattern', '')}")
            problems.append(SpecProblem(marks.at(loc), f"{field} {error['input']!r} is not valid", hint))
        else:
            message = error["msg"].removeprefix("Value error, ")
            where = _readable(loc, data)
            problems.append(SpecProblem(marks.at(loc), f"{where}: {message}", _type_hint(kind)))
    return problems


def _type_hint(kind: str) -> str:
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return "change the value to the expected type"
    if kind == "literal_error":
        return "use one of the listed values"
    if kind == "finite_number":
        return "write a finite number (YAML reads 1e400 as infinity)"
    if kind.startswith("too_short"):
        return "add at least one item"
    return ""
