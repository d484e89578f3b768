"""The open standards' JSON Schemas, shipped in the package and registered by ``$id``: never fetched.

Every document ``hexmesh import`` reads and ``hexmesh export`` writes is validated against its
standard's schema. Problems carry ``file:line:col`` like spec errors: a missing key points at
the object that lacks it, an unknown key at the key itself.
"""

from __future__ import annotations

import difflib
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import ValidationError, validators
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7, DRAFT201909, DRAFT202012

from hexmesh.errors import ProblemLocation, SpecProblem
from hexmesh.spec.loader import Marks
from hexmesh.standards.kinds import Standard

__all__ = ["SCHEMA_IDS", "registry", "schema_problems", "validator"]

_FOLDER = Path(__file__).parent / "schemas"
#: Which file holds each standard's schema, and the ``$id`` it is registered under (the schema's
#: own ``$id`` where it has one; else the address its project publishes it at).
_FILES: dict[Standard, tuple[str, str, Any]] = {
    "odcs": (
        "odcs-v3.1.0.json",
        "https://github.com/bitol-io/open-data-contract-standard/blob/main/schema/odcs-json-schema-v3.1.0.json",
        DRAFT201909,
    ),
    "odps": (
        "odps-v1.0.0.json",
        "https://github.com/bitol-io/open-data-product-standard/blob/main/schema/odps-json-schema-v1.0.0.json",
        DRAFT201909,
    ),
    "dpds": ("dpds-v1.0.0.json", "https://dpds.opendatamesh.org/resources/schemas/1.0.0-DRAFT.json", DRAFT202012),
    "dcs": ("datacontract-v1.2.1.json", "https://datacontract.com/datacontract.schema.json", DRAFT7),
}
SCHEMA_IDS: dict[Standard, str] = {standard: uri for standard, (_, uri, _) in _FILES.items()}


@cache
def registry() -> Registry[Any]:
    """Every shipped schema, by ``$id``; a ``$ref`` to anything else fails instead of fetching."""
    resources = []
    for file, uri, draft in _FILES.values():
        contents = json.loads((_FOLDER / file).read_text(encoding="utf-8"))
        resources.append((uri, Resource.from_contents(contents, default_specification=draft)))
    return Registry().with_resources(resources)


@cache
def validator(standard: Standard) -> Validator:
    uri = SCHEMA_IDS[standard]
    schema = registry().contents(uri)
    cls = validators.validator_for(schema)
    return cls({"$ref": uri}, registry=registry())


def schema_problems(standard: Standard, document: Any, marks: Marks) -> list[SpecProblem]:
    """Every way ``document`` breaks its standard's schema, located and worded for people."""
    errors = _leaves(list(validator(standard).iter_errors(document)))
    inside = [tuple(e.absolute_path) for e in errors if e.validator not in ("unevaluatedProperties",)]
    problems: list[SpecProblem] = []
    for error in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        path = tuple(error.absolute_path)
        # unevaluatedProperties repeats, on the whole object, a problem reported inside it.
        if error.validator == "unevaluatedProperties" and any(p[: len(path)] == path and p != path for p in inside):
            continue
        problems.extend(_explain(standard, error, marks))
    unique: dict[tuple[str, str], SpecProblem] = {}
    for problem in problems:
        unique.setdefault((str(problem.location), problem.message), problem)
    return sorted(unique.values(), key=lambda p: (p.location.line, p.location.column) if p.location else (0, 0))


def _leaves(errors: list[ValidationError]) -> list[ValidationError]:
    """For oneOf/anyOf failures, the errors of the branch that came closest (not the whole choice)."""
    found = []
    for error in errors:
        if error.validator in ("oneOf", "anyOf", "allOf") and error.context:
            best = min(error.context, key=lambda e: (len(e.absolute_path) * -1, e.validator == "required"))
            same = [e for e in error.context if e.relative_schema_path[0] == best.relative_schema_path[0]]
            found.extend(_leaves(same) or [error])
        else:
            found.append(error)
    return found


def _where(marks: Marks, path: tuple[Any, ...], *, key: bool = False) -> ProblemLocation:
    found = marks.at(path, key=key)
    return found if found is not None else ProblemLocation(marks.file, 1, 1)


def _readable(path: tuple[Any, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + str(part)
    return text or "the document"


def _explain(standard: Standard, error: ValidationError, marks: Marks) -> list[SpecProblem]:
    path = tuple(error.absolute_path)
    name = _NAMES[standard]
    if error.validator == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else str(error.message)
        where = _readable(path)
        return [
            SpecProblem(
                _where(marks, path),
                f"missing required key {missing!r}" + (f" in {where}" if path else ""),
                f"{name} requires it; add {missing}: …",
            )
        ]
    if error.validator in ("additionalProperties", "unevaluatedProperties"):
        allowed = sorted(_allowed(error.schema, 0))
        named = re.search(r"\((.*) (?:was|were) unexpected\)", str(error.message))
        extra = re.findall(r"'((?:[^'\\]|\\.)*)'", named.group(1)) if named else []
        problems = []
        for key in extra or [str(error.message)]:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"{name} allows: {', '.join(allowed)}"
            hint = _RENAMED.get(str(key), hint)
            if not allowed:
                hint = f"{name} does not allow it here; move it into customProperties"
            problems.append(SpecProblem(_where(marks, (*path, key), key=True), f"unknown key {key!r}", hint))
        return problems
    if error.validator == "enum":
        values: Any = error.validator_value
        options = ", ".join(str(v) for v in values) if isinstance(values, list) else str(values)
        return [
            SpecProblem(
                _where(marks, path),
                f"{_readable(path)}: {error.instance!r} is not one of {options}",
                "use one of the listed values",
            )
        ]
    if error.validator == "type":
        return [
            SpecProblem(
                _where(marks, path),
                f"{_readable(path)}: {error.instance!r} is not of type {error.validator_value!r}",
                "change the value to the expected type",
            )
        ]
    return [SpecProblem(_where(marks, path), f"{_readable(path)}: {error.message}", "")]


def _allowed(schema: Any, depth: int) -> set[str]:
    """The keys an object schema names, through allOf/anyOf/oneOf/if-then and ``$ref``s."""
    if not isinstance(schema, dict) or depth > 8:
        return set()
    found = set(schema.get("properties", {}))
    if isinstance(schema.get("$ref"), str):
        found |= _allowed(_resolved(schema["$ref"]), depth + 1)
    for key in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(key, []):
            found |= _allowed(part, depth + 1)
    return found


def _resolved(ref: str) -> Any:
    for uri in SCHEMA_IDS.values():
        try:
            return registry().resolver(uri).lookup(ref).contents
        except Exception:
            continue
    return None


#: Keys of older versions whose new name is not close enough for a "did you mean".
_RENAMED = {
    "isNullable": "ODCS 3 writes required: true where ODCS 2 wrote isNullable: false",
    "isUnique": "ODCS 3 writes unique: true",
}

_NAMES: dict[Standard, str] = {
    "odcs": "ODCS v3.1.0",
    "odps": "ODPS v1.0.0",
    "dpds": "DPDS 1.0.0",
    "dcs": "the Data Contract Specification 1.2.1",
}
