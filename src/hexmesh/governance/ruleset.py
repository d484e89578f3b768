"""Global governance as code: versioned rule sets evaluated on a descriptor at validate, deploy and version time.

A rule is a function of the spec (and its policies) yielding findings; each rule blocks or warns.
Shipped rules live in :mod:`hexmesh.governance.core`; a mesh adds its own as declarative
YAML (``<mesh>/governance/rules.yaml``) — data, not code, so loading a mesh never runs its files.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError

from hexmesh.governance.exceptions import PolicyError
from hexmesh.spec import safe_yaml
from hexmesh.spec.model import DataProductSpec
from hexmesh.spec.policies import PolicyModel, ProductPolicies

__all__ = ["Finding", "Rule", "RuleReport", "RuleSet", "RuleSetError", "evaluate", "parse_rules", "parse_rules_text"]

Severity = Literal["blocking", "warning"]
Check = Callable[[DataProductSpec, ProductPolicies], Iterable[tuple[str, str]]]


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    where: str
    """product, ``port:<name>`` or ``field:<port>.<name>``."""
    message: str

    def __str__(self) -> str:
        return f"[{self.severity}] {self.rule} at {self.where}: {self.message}"


class RuleSetError(PolicyError):
    """A rule set (``rules.yaml``, or one sent to the control port) is malformed: a bad request, not a bad policy."""

    http_status = 400


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    description: str
    check: Check


@dataclass(frozen=True)
class RuleSet:
    """Named, versioned rules; ``+`` stacks a mesh's rules on the shipped ones."""

    name: str
    version: str
    rules: tuple[Rule, ...]
    content: str = ""
    """What the rules say beyond their ids (a declared rule set's canonical JSON); part of the digest."""

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def digest(self) -> str:
        """``sha256:<hex>`` of the label, every rule's id, severity and description, and the content.

        Two rule sets with one label but different rules have different digests: the discovery
        document states both, so a consumer can tell which rules a product really passed.
        """
        parts = [self.label, *(f"{r.id}|{r.severity}|{r.description}" for r in self.rules), self.content]
        return "sha256:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def __add__(self, other: RuleSet) -> RuleSet:
        clash = {r.id for r in self.rules} & {r.id for r in other.rules}
        if clash:
            raise PolicyError(f"rule id(s) {', '.join(sorted(clash))} defined twice; rename the mesh's rules")
        return RuleSet(
            f"{self.label}+{other.name}", other.version, self.rules + other.rules, self.content + other.content
        )


@dataclass(frozen=True)
class RuleReport:
    """What a product got from a rule set: the label it was checked against and every finding."""

    ruleset: str
    findings: tuple[Finding, ...]
    digest: str = ""

    @property
    def passed(self) -> bool:
        return not self.blocking

    @property
    def blocking(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "blocking")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")


def evaluate(
    spec: DataProductSpec,
    rules: RuleSet,
    policies: ProductPolicies | None = None,
    mesh: ProductPolicies | None = None,
) -> RuleReport:
    """Run every rule; a rule that crashes is itself a blocking finding (a broken rule must not pass products).

    ``mesh``: the mesh-wide policies; their privacy rules count as the product's (a mesh rule
    that pseudonymizes every personal field satisfies "every PII field has a transformation").
    """
    resolved = policies or ProductPolicies.model_validate(spec.policies.model_dump(by_alias=True))
    if mesh is not None:
        resolved = ProductPolicies(access=resolved.access, privacy=[*mesh.privacy, *resolved.privacy])
    findings: list[Finding] = []
    for rule in rules.rules:
        try:
            findings += [Finding(rule.id, rule.severity, w, m) for w, m in rule.check(spec, resolved)]
        except Exception as exc:
            findings.append(Finding(rule.id, "blocking", "product", f"the rule failed: {exc!r}"))
    return RuleReport(rules.label, tuple(findings), rules.digest)


# -- declarative rules -------------------------------------------------------------------------


class Requirement(PolicyModel):
    present: bool | None = None
    pattern: str | None = None
    one_of: list[Any] | None = None


class DeclaredRule(PolicyModel):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    severity: Severity = "blocking"
    message: str
    on: Literal["product", "port", "field"]
    where: dict[str, list[Any]] = Field(default_factory=dict)
    """Only targets whose attribute takes one of these values."""
    require: dict[str, Requirement]


class DeclaredRules(PolicyModel):
    name: str = "mesh"
    version: str
    rules: list[DeclaredRule]


def _targets(spec: DataProductSpec, on: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if on == "product":
        yield "product", spec.model_dump(by_alias=True)
        return
    for port in spec.output_ports:
        if on == "port":
            yield f"port:{port.name}", port.model_dump(by_alias=True)
        else:
            for f in port.properties:
                yield f"field:{port.name}.{f.name}", f.model_dump(by_alias=True)


def _get(data: Mapping[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _declared(rule: DeclaredRule) -> Check:
    def check(spec: DataProductSpec, _policies: ProductPolicies) -> Iterator[tuple[str, str]]:
        for where, data in _targets(spec, rule.on):
            if any(_get(data, k) not in allowed for k, allowed in rule.where.items()):
                continue
            for path, need in rule.require.items():
                value = _get(data, path)
                empty = value in (None, "", [], {})
                bad = (
                    (need.present is True and empty)
                    or (need.pattern is not None and not empty and not re.fullmatch(need.pattern, str(value)))
                    or (need.one_of is not None and value not in need.one_of)
                )
                if bad:
                    yield where, f"{rule.message} ({path} = {value!r})"

    return check


Locate = Callable[[tuple[str | int, ...]], str]


def parse_rules(data: Mapping[str, Any], source: str = "rules.yaml", locate: Locate | None = None) -> RuleSet:
    """A mesh's declarative rules (the parsed YAML of ``governance/rules.yaml``) as a rule set.

    ``locate`` turns a path in ``data`` into ``line:col`` for messages (see :func:`parse_rules_text`).
    """
    where: Locate = locate or (lambda _path: "")
    data = _bare_on(data, source, where)
    problems: list[str] = []
    try:
        declared = DeclaredRules.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            dotted = ".".join(str(p) for p in loc) or "(top)"
            problems.append(f"{source}{where(loc)}: {dotted}: {error['msg']}")
        raise RuleSetError(
            "; ".join(problems) + ". A rule set has name, version (quoted text) and rules, each with id, message, "
            "on (product | port | field), require and optional severity and where (see docs/governance.md)"
        ) from None
    for index, rule in enumerate(declared.rules):
        for path, need in rule.require.items():
            if need.pattern is not None:
                try:
                    re.compile(need.pattern)
                except re.error as exc:
                    at = where(("rules", index, "require", path, "pattern"))
                    raise RuleSetError(
                        f"{source}{at}: rule {rule.id!r}: pattern {need.pattern!r} is not a regular expression "
                        f"({exc}); fix it (Python re syntax)"
                    ) from None
    content = json.dumps(declared.model_dump(mode="json"), sort_keys=True)
    return RuleSet(
        declared.name,
        declared.version,
        tuple(Rule(r.id, r.severity, r.message, _declared(r)) for r in declared.rules),
        content,
    )


def _bare_on(data: Mapping[str, Any], source: str, where: Locate) -> Mapping[str, Any]:
    """Accept a bare ``on:`` key: YAML 1.1 reads it as the boolean ``True``, but it can only mean ``on``."""
    rules = data.get("rules")
    if not isinstance(rules, list):
        return data
    fixed: list[Any] = []
    for index, rule in enumerate(rules):
        if isinstance(rule, Mapping) and True in rule:
            if "on" in rule:
                raise RuleSetError(
                    f"{source}{where(('rules', index))}: rule {index + 1} gives `on` twice (once quoted, once "
                    "bare); keep one"
                )
            rule = {("on" if key is True else key): value for key, value in rule.items()}
        fixed.append(rule)
    return {**data, "rules": fixed}


def parse_rules_text(text: str, source: str = "rules.yaml") -> RuleSet:
    """Parse the YAML text of a rule set; every error names ``source:line:col`` and what to do."""
    try:
        node = safe_yaml.compose(text)
        data = safe_yaml.construct(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise RuleSetError(
            f"{source}{at}: not valid YAML ({exc.problem or exc}); fix the syntax at this position "
            "(indentation, quotes, colons)"
        ) from None
    if not isinstance(data, Mapping) or node is None:
        raise RuleSetError(
            f"{source}:1:1: a rule set must be a YAML mapping with name, version and rules (see docs/governance.md)"
        )
    marks: dict[tuple[str | int, ...], tuple[int, int]] = {}
    _marks(node, (), marks)

    def locate(path: tuple[str | int, ...]) -> str:
        probe = path
        while probe and probe not in marks:
            probe = probe[:-1]
        line, col = marks.get(probe, (1, 1))
        return f":{line}:{col}"

    return parse_rules(data, source, locate)


def _marks(node: yaml.Node, path: tuple[str | int, ...], marks: dict[tuple[str | int, ...], tuple[int, int]]) -> None:
    marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _marks(value, (*path, key.value), marks)
            # The key's position wins: "rules.0.on" points at the key the user wrote.
            marks[(*path, key.value)] = (key.start_mark.line + 1, key.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _marks(item, (*path, index), marks)
