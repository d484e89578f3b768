"""Global governance as code: versioned rule sets evaluated on a descriptor at validate, deploy and version time.

A rule is a function of the spec (and its policies) yielding findings; each rule blocks or warns.
Shipped rules live in :mod:`hexmesh.governance.core`; a mesh adds its own as declarative
YAML (``<mesh>/governance/rules.yaml``) — data, not code, so loading a mesh never runs its files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, ValidationError

from hexmesh.governance.exceptions import PolicyError
from hexmesh.spec.model import DataProductSpec
from hexmesh.spec.policies import PolicyModel, ProductPolicies

__all__ = ["Finding", "Rule", "RuleReport", "RuleSet", "evaluate", "parse_rules"]

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

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    def __add__(self, other: RuleSet) -> RuleSet:
        clash = {r.id for r in self.rules} & {r.id for r in other.rules}
        if clash:
            raise PolicyError(f"rule id(s) {', '.join(sorted(clash))} defined twice; rename the mesh's rules")
        return RuleSet(f"{self.label}+{other.name}", other.version, self.rules + other.rules)


@dataclass(frozen=True)
class RuleReport:
    """What a product got from a rule set: the label it was checked against and every finding."""

    ruleset: str
    findings: tuple[Finding, ...]

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
    return RuleReport(rules.label, tuple(findings))


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


def parse_rules(data: Mapping[str, Any], source: str = "rules.yaml") -> RuleSet:
    """A mesh's declarative rules (the parsed YAML of ``governance/rules.yaml``) as a rule set."""
    try:
        declared = DeclaredRules.model_validate(data)
        for rule in declared.rules:
            for need in rule.require.values():
                if need.pattern is not None:
                    re.compile(need.pattern)
    except (ValidationError, re.error) as exc:
        raise PolicyError(f"{source}: {exc}") from exc
    return RuleSet(
        declared.name, declared.version, tuple(Rule(r.id, r.severity, r.message, _declared(r)) for r in declared.rules)
    )
