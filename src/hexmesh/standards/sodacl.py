"""The SodaCL checks found in contracts that hexmesh can run, as hexmesh quality checks.

Contracts carry Soda checks in two forms: ODCS ``custom`` rules (``engine: soda``, an
``implementation`` mapping or text) and the Data Contract Specification 0.9's top-level
``quality: {type: SodaCL, specification: {checks for <model>: [...]}}``. hexmesh translates the
common metrics (``row_count``, ``missing_count``/``missing_percent``, ``duplicate_count``/
``duplicate_percent``, ``invalid_count``/``invalid_percent`` with valid values, and
``freshness``); any other check is an error that names it, never a check left out.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from hexmesh.spec import safe_yaml
from hexmesh.spec.loader import YamlLoader

__all__ = ["check_of", "checks_of_line"]

_METRICS = {
    "row_count": ("rowCount", "rows"),
    "missing_count": ("nullValues", "rows"),
    "missing_percent": ("nullValues", "percent"),
    "duplicate_count": ("duplicateValues", "rows"),
    "duplicate_percent": ("duplicateValues", "percent"),
    "invalid_count": ("invalidValues", "rows"),
    "invalid_percent": ("invalidValues", "percent"),
}
_BOUNDS = {
    "must_be": "mustBe",
    "must_not_be": "mustNotBe",
    "must_be_greater_than": "mustBeGreaterThan",
    "must_be_greater_than_or_equal_to": "mustBeGreaterOrEqualTo",
    "must_be_less_than": "mustBeLessThan",
    "must_be_less_than_or_equal_to": "mustBeLessOrEqualTo",
    "must_be_between": "mustBeBetween",
    "must_not_be_between": "mustNotBeBetween",
}
_SYMBOLS = {
    "=": "mustBe",
    "!=": "mustNotBe",
    ">": "mustBeGreaterThan",
    ">=": "mustBeGreaterOrEqualTo",
    "<": "mustBeLessThan",
    "<=": "mustBeLessOrEqualTo",
}
_LINE = re.compile(r"^\s*(?P<metric>[a-z_]+)\s*(?:\((?P<args>[^)]*)\))?\s*(?P<op>>=|<=|!=|=|>|<)\s*(?P<value>\S+)\s*$")


def check_of(implementation: Any, field_name: str | None, columns: dict[str, str]) -> dict[str, Any]:
    """One hexmesh check from an ODCS custom rule's ``implementation`` (a mapping or its YAML text)."""
    if isinstance(implementation, str):
        try:
            parsed = safe_yaml.load(implementation, YamlLoader)
        except yaml.YAMLError:
            parsed = None
        if not isinstance(parsed, dict):
            return checks_of_line(implementation, columns)
        implementation = parsed
    if not isinstance(implementation, dict):
        raise ValueError("a soda rule's implementation must be a mapping or a SodaCL line")
    kind = str(implementation.get("type", ""))
    if kind not in _METRICS:
        raise ValueError(f"soda check type {kind!r} cannot run in hexmesh (it runs {', '.join(_METRICS)})")
    metric, unit = _METRICS[kind]
    check: dict[str, Any] = {"metric": metric}
    names = [columns.get(str(c), str(c)) for c in implementation.get("columns") or []]
    if implementation.get("column"):
        names.append(columns.get(str(implementation["column"]), str(implementation["column"])))
    if not names and field_name and metric != "rowCount":
        names = [field_name]
    if metric == "duplicateValues" and len(names) > 1:
        check["fields"] = names
    elif names:
        check["field"] = names[0]
    if unit == "percent":
        check["unit"] = "percent"
    if "valid_values" in implementation:
        check["validValues"] = list(implementation["valid_values"] or [])
    bounds = {_BOUNDS[k]: v for k, v in implementation.items() if k in _BOUNDS}
    if len(bounds) != 1:
        raise ValueError(f"soda check {kind} needs exactly one must_be… bound, found {len(bounds)}")
    return check | bounds


def checks_of_line(line: str, columns: dict[str, str]) -> dict[str, Any]:
    """One hexmesh check from a SodaCL line such as ``row_count > 1000`` or ``freshness(ts) < 5d``."""
    text = line.split("#", 1)[0].strip()
    freshness = re.match(r"^freshness\((?P<col>[A-Za-z0-9_]+)(?:::\w+)?\)\s*<\s*(?P<age>\d+[smhdwy])$", text)
    if freshness:
        column = columns.get(freshness.group("col"), freshness.group("col"))
        return {"freshness": {"maxAge": freshness.group("age"), "field": column}}
    found = _LINE.match(text)
    if not found or found.group("metric") not in _METRICS:
        raise ValueError(f"SodaCL check {text!r} cannot run in hexmesh (it runs {', '.join(_METRICS)} and freshness)")
    metric, unit = _METRICS[found.group("metric")]
    check: dict[str, Any] = {"metric": metric}
    args = [a.strip() for a in (found.group("args") or "").split(",") if a.strip()]
    names = [columns.get(a, a) for a in args]
    if metric == "duplicateValues" and len(names) > 1:
        check["fields"] = names
    elif names:
        check["field"] = names[0]
    if unit == "percent":
        check["unit"] = "percent"
    value = found.group("value").rstrip("%")
    try:
        number: float | int = int(value)
    except ValueError:
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"SodaCL check {text!r} compares with {value!r}, not a number") from None
    return check | {_SYMBOLS[found.group("op")]: number}
