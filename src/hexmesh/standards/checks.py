"""Data-quality rules of ODCS and the Data Contract Specification ↔ hexmesh quality checks.

Every rule that declares something to run becomes a check hexmesh runs: ``library`` metrics
(nullValues, missingValues, invalidValues, duplicateValues, rowCount), ``sql`` queries with a
``mustBe*`` operator, and ``custom`` rules in the SodaCL forms :mod:`.sodacl` translates. A rule
hexmesh cannot run is an import error saying so; nothing is skipped quietly. ``text`` rules
declare nothing to run: they are kept as documentation and listed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hexmesh.errors import ProblemLocation, SpecProblem
from hexmesh.spec import QualityCheck
from hexmesh.spec.base import CustomProperty
from hexmesh.spec.duration import parse_duration
from hexmesh.spec.quality import METRICS, OPERATORS
from hexmesh.standards import dqx, sodacl
from hexmesh.standards.residue import foreign, residue, restore

__all__ = ["Rules", "export_check", "import_rules"]

#: Older names of the library metrics (ODCS 3.0 ``rule``, DCS), and deprecated operator names.
_METRIC_ALIASES = {
    "duplicateCount": "duplicateValues",
    "duplicates": "duplicateValues",
    "unique": "duplicateValues",
    "validValues": "invalidValues",
    "nullCheck": "nullValues",
    "notNull": "nullValues",
    "nullCount": "nullValues",
    "rowCount": "rowCount",
}
_OPERATOR_ALIASES = {
    "mustBeGreaterThanOrEqualTo": "mustBeGreaterOrEqualTo",
    "mustBeLessThanOrEqualTo": "mustBeLessOrEqualTo",
}
_UNITS = {"rows": "rows", "row": "rows", "percent": "percent", "%": "percent", "percentage": "percent"}
#: Keys of a rule that hexmesh reads (everything else is kept as it came).
_READ = {"type", "metric", "rule", "arguments", "query", "unit", "name", "description", "engine", "implementation"}


@dataclass
class Rules:
    """What the rules of one object (a schema object, a property) became."""

    checks: list[dict[str, Any]] = field(default_factory=list)
    texts: list[dict[str, Any]] = field(default_factory=list)
    """Text rules (and their positions), kept as documentation."""
    problems: list[SpecProblem] = field(default_factory=list)


def import_rules(
    prefix: str,
    rules: list[Any],
    *,
    path: tuple[Any, ...],
    where: Any,
    field_name: str | None,
    columns: dict[str, str],
) -> Rules:
    """Checks (as spec dicts) of the rules of one object; ``columns`` maps source names to fields."""
    found = Rules()
    for index, rule in enumerate(rules):
        at: ProblemLocation = where((*path, index))
        if not isinstance(rule, dict):
            found.problems.append(SpecProblem(at, "a quality rule must be a mapping", "write type: library, metric: …"))
            continue
        kind = rule.get("type") or ("sql" if "query" in rule else "library")
        if kind == "text":
            found.texts.append({"index": index, "rule": rule})
            continue
        try:
            check = _check(prefix, kind, rule, field_name, columns)
            known = set(columns.values())
            named = QualityCheck.model_validate(check).columns
            unknown = [c for c in named if c not in known]
            if unknown:
                raise _UnrunnableError(
                    f"quality rule names {', '.join(unknown)}, which the schema does not declare",
                    "fix the rule's columns, or declare them as properties",
                )
        except _UnrunnableError as exc:
            found.problems.append(SpecProblem(at, str(exc), exc.hint))
            continue
        found.checks.append(check)
    return found


class _UnrunnableError(Exception):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def _check(
    prefix: str, kind: str, rule: dict[str, Any], field_name: str | None, columns: dict[str, str]
) -> dict[str, Any]:
    check: dict[str, Any] = {}
    if rule.get("name"):
        check["name"] = str(rule["name"])
    if rule.get("description"):
        check["description"] = str(rule["description"])
    if kind == "library":
        check |= _library(rule, field_name, columns)
    elif kind == "sql":
        if not isinstance(rule.get("query"), str):
            raise _UnrunnableError(
                "a sql quality rule needs a query", "add query: select count(*) from … and mustBe: 0"
            )
        check["sql"] = rule["query"]
        if field_name:
            check["field"] = field_name
    elif kind == "custom":
        check |= _custom(rule, field_name, columns)
    else:
        raise _UnrunnableError(f"quality rule type {kind!r} is not known", "use text, library, sql or custom")
    if kind != "custom":
        check |= _operator(rule, kind)
    # A property's rule stays the property's, whichever columns it counts.
    if (field_name and "field" not in check and check.get("metric") not in (None, "rowCount")) or (
        field_name and kind == "sql"
    ):
        check["field"] = field_name
    unit = rule.get("unit")
    if unit is not None and kind == "library":
        if str(unit).lower() not in _UNITS:
            raise _UnrunnableError(
                f"unit {unit!r} of a {check.get('metric')} rule is not rows or percent", "use rows or percent"
            )
        check["unit"] = _UNITS[str(unit).lower()]
    own = [CustomProperty.model_validate(c) for c in rule.get("customProperties") or [] if isinstance(c, dict)]
    spec = QualityCheck.model_validate(check)
    produced = export_check(prefix, spec)
    kept = []
    if kind == "custom":
        # The rule is given back in its own words while hexmesh's translation of it is unchanged.
        original = {k: rule[k] for k in ("type", "engine", "implementation") if k in rule}
        kept.append(
            CustomProperty(property=f"{prefix}.custom", value=original, description=_WRITES + _json(_core(produced)))
        )
        rule = {k: v for k, v in rule.items() if k not in original}
        produced = {k: v for k, v in produced.items() if k not in _core(produced)}
    kept += residue(prefix, rule, produced)
    # A rule's operator under its deprecated name is written under the current one: not residue.
    kept = [k for k in kept if k.property.removeprefix(prefix + ".") not in _OPERATOR_ALIASES]
    if own or kept:
        check["customProperties"] = [c.model_dump(exclude_none=True) for c in own + kept]
    return check


def _library(rule: dict[str, Any], field_name: str | None, columns: dict[str, str]) -> dict[str, Any]:
    metric = rule.get("metric") or rule.get("rule")
    metric = _METRIC_ALIASES.get(str(metric), metric)
    if metric not in METRICS:
        raise _UnrunnableError(
            f"library metric {metric!r} is not one hexmesh runs",
            f"use one of {', '.join(METRICS)}, or a sql rule with mustBe…",
        )
    check: dict[str, Any] = {"metric": metric}
    arguments = dict(rule.get("arguments") or {})
    if field_name and metric != "rowCount":
        check["field"] = field_name
    if "validValues" in arguments:
        check["validValues"] = list(arguments.pop("validValues") or [])
    if "pattern" in arguments:
        check["pattern"] = str(arguments.pop("pattern"))
    if "missingValues" in arguments:
        check["missingValues"] = list(arguments.pop("missingValues") or [])
    if "properties" in arguments:
        names = [columns.get(str(p), str(p)) for p in arguments.pop("properties") or []]
        if len(names) == 1 and "field" not in check:
            check["field"] = names[0]
        elif names:
            check["fields"] = names
    if arguments:
        raise _UnrunnableError(
            f"argument(s) {', '.join(arguments)} of metric {metric} are not ones hexmesh understands",
            "remove them, or write the rule as sql with mustBe…",
        )
    return check


def _operator(rule: dict[str, Any], kind: str) -> dict[str, Any]:
    found = {}
    for key, value in rule.items():
        name = _OPERATOR_ALIASES.get(key, key)
        if name in OPERATORS:
            found[name] = value
    if not found and kind == "library":
        raise _UnrunnableError(
            "a library rule needs an operator to compare with", "add mustBe: 0 (or mustBeLessThan: …)"
        )
    return found


def _custom(rule: dict[str, Any], field_name: str | None, columns: dict[str, str]) -> dict[str, Any]:
    engine = str(rule.get("engine", "")).lower()
    translate = {"soda": sodacl.check_of, "sodacl": sodacl.check_of, "dqx": dqx.check_of}.get(engine)
    if translate is None:
        raise _UnrunnableError(
            f"custom rule for engine {rule.get('engine')!r} cannot run in hexmesh (it runs soda and dqx rules)",
            "rewrite it as an ODCS library or sql rule with mustBe…, or remove it",
        )
    try:
        return translate(rule.get("implementation"), field_name, columns)
    except ValueError as exc:
        raise _UnrunnableError(str(exc), "rewrite it as an ODCS library or sql rule with mustBe…") from None


def export_check(prefix: str, check: QualityCheck) -> dict[str, Any]:
    """The ODCS/DCS rule of a hexmesh check (with its kept residue put back)."""
    rule: dict[str, Any] = {}
    if check.name and not check.name.startswith(("primaryKey", "unique(")):
        rule["name"] = check.name
    if check.description:
        rule["description"] = check.description
    if check.metric is not None:
        rule["metric"] = check.metric
        arguments: dict[str, Any] = {}
        if check.valid_values is not None:
            arguments["validValues"] = check.valid_values
        if check.pattern is not None:
            arguments["pattern"] = check.pattern
        if check.missing_values is not None:
            arguments["missingValues"] = check.missing_values
        if check.fields:
            arguments["properties"] = list(check.fields)
        if arguments:
            rule["arguments"] = arguments
        if check.unit is not None:
            rule["unit"] = check.unit
    elif check.sql is not None:
        rule["type"] = "sql"
        rule["query"] = check.sql
    else:
        rule |= _native(check)
    threshold = check.threshold
    if threshold is not None:
        rule[threshold[0]] = threshold[1]
    custom = next((c for c in check.custom_properties if c.property == f"{prefix}.custom"), None)
    if custom is not None and custom.description == _WRITES + _json(_core(rule)):
        rule = {k: v for k, v in rule.items() if k not in _core(rule)} | dict(custom.value)
    rule = restore(prefix, rule, [c for c in check.custom_properties if c is not custom])
    if prefix == "dcs" and "type" not in rule:  # the Data Contract Specification has no default type
        rule = {"type": "sql" if "query" in rule else "library", **rule}
    own = foreign(check.custom_properties, prefix)
    if own:
        rule["customProperties"] = own
    return rule


_CORE = {"metric", "arguments", "unit", "type", "query", *OPERATORS}
_WRITES = "hexmesh writes "


def _core(rule: dict[str, Any]) -> dict[str, Any]:
    """The part of a rule that says what runs (not its name or description)."""
    return {k: v for k, v in rule.items() if k in _CORE}


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _native(check: QualityCheck) -> dict[str, Any]:
    """hexmesh's own kinds, as the ODCS rule that checks the same."""
    if check.not_null is not None:
        if len(check.not_null) == 1:
            return {"metric": "nullValues", "mustBe": 0}
        where = " or ".join(f"{c} is null" for c in check.not_null)
        return {"type": "sql", "query": f"select count(*) from {{object}} where {where}", "mustBe": 0}
    if check.unique is not None:
        rule: dict[str, Any] = {"metric": "duplicateValues", "mustBe": 0}
        if len(check.unique) > 1:
            rule["arguments"] = {"properties": list(check.unique)}
        return rule
    if check.accepted_values is not None:
        return {"metric": "invalidValues", "arguments": {"validValues": check.accepted_values.values}, "mustBe": 0}
    if check.range is not None:
        bounds = []
        if check.range.min is not None:
            bounds.append(f"{{property}} < {check.range.min:g}")
        if check.range.max is not None:
            bounds.append(f"{{property}} > {check.range.max:g}")
        where = " or ".join(bounds) or "false"
        return {"type": "sql", "query": f"select count(*) from {{object}} where {where}", "mustBe": 0}
    if check.row_count is not None:
        low, high = check.row_count.min, check.row_count.max
        if low is not None and high is not None:
            return {"metric": "rowCount", "mustBeBetween": [low, high]}
        if low is not None:
            return {"metric": "rowCount", "mustBeGreaterOrEqualTo": low}
        return {"metric": "rowCount", "mustBeLessOrEqualTo": high if high is not None else 0}
    assert check.freshness is not None
    seconds = int(parse_duration(check.freshness.max_age).total_seconds())
    column = check.freshness.field or "{property}"
    query = f"select count(*) from {{object}} having max({column}) < now() - to_seconds({seconds})"
    return {"type": "sql", "query": query, "mustBe": 0}


def native_field(check: QualityCheck) -> str | None:
    """The one field a hexmesh check is about (it exports under that property), or None."""
    if check.metric is not None or check.sql is not None:
        return check.field
    if check.not_null is not None and len(check.not_null) == 1:
        return check.not_null[0]
    if check.unique is not None and len(check.unique) == 1:
        return check.unique[0]
    if check.accepted_values is not None:
        return check.accepted_values.field
    if check.range is not None:
        return check.range.field
    return None
