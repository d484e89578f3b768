"""Global governance rules at validate and deploy time, and new rule sets from the control port.

The rule set is the shipped core (``hexmesh-core``) plus the mesh's own rules: the newest revision
accepted by the control port, else ``governance/rules.yaml`` of the mesh's governance folder
(``HEXMESH_GOVERNANCE`` or ``<home>/governance``). Blocking findings always stop validate and
deploy, with or without a governance folder: the shipped rules are the mesh's floor.

A new rule set re-evaluates every deployed product. Failing it does not un-deploy a product
that serves consumers (that would be an outage decided by a YAML edit); the failure is recorded
and shown in the product's discovery document until a fixed version is deployed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from sqlalchemy import Engine

from hexmesh.errors import ProblemLocation, SpecProblem
from hexmesh.governance import CORE, MeshGovernance, PolicyError, RuleReport, evaluate
from hexmesh.governance.ruleset import RuleSetError, parse_rules_text
from hexmesh.infra.settings import Settings
from hexmesh.infra.state import StateStore
from hexmesh.infra.state.rulesets import RuleCheck, current_ruleset, record_check, store_ruleset
from hexmesh.product.policy import governance_folder, load_governance
from hexmesh.spec import DataProductSpec, LoadedSpec

if TYPE_CHECKING:
    from hexmesh.lifecycle.workspace import Workspace

__all__ = ["MeshRules", "ProductVerdict", "RuleSetChange", "RuleWarning", "accept_ruleset", "mesh_rules"]


class MeshRules:
    """The mesh's rule set (and its stored revision, if it came from the control port)."""

    def __init__(self, governance: MeshGovernance, *, enforce: bool = True, revision: int | None = None) -> None:
        self.governance = governance
        self.enforce = enforce
        self.revision = revision

    def check(self, spec: DataProductSpec) -> RuleReport:
        return evaluate(spec, self.governance.rules, mesh=self.governance.policies.rules)

    def problems(self, spec: DataProductSpec) -> list[SpecProblem]:
        """Blocking findings as spec problems (when enforced); warnings are :meth:`located`'s."""
        report = self.check(spec)
        blocking = report.blocking if self.enforce else ()
        return [
            SpecProblem(
                None,
                f"{spec.key}: rule {f.rule} ({report.ruleset}) fails at {f.where}: {f.message}",
                _HINTS.get(f.rule, "change the spec so that the rule holds, or ask the mesh's governance team"),
            )
            for f in blocking
        ]

    def located(self, loaded: LoadedSpec) -> list[RuleWarning]:
        """The findings that warn (do not block), each at the ``file:line:col`` of what it is about."""
        report = self.check(loaded.spec)
        blocking = report.blocking if self.enforce else ()
        return [
            RuleWarning(f.rule, f.message, f.where, _location(loaded, f.where))
            for f in report.findings
            if f not in blocking
        ]

    def warnings(self, spec: DataProductSpec) -> list[str]:
        report = self.check(spec)
        blocking = report.blocking if self.enforce else ()
        return [str(f) for f in report.findings if f not in blocking]

    def record(self, db: Engine, spec: DataProductSpec, version: str | None = None) -> RuleCheck:
        """Check ``spec`` and remember the outcome for its deployed ``version`` (discovery shows it)."""
        report = self.check(spec)
        check = RuleCheck(
            spec.key,
            version or spec.version,
            report.ruleset,
            report.digest,
            self.revision,
            report.passed,
            [{"rule": f.rule, "severity": f.severity, "where": f.where, "message": f.message} for f in report.findings],
        )
        record_check(db, check)
        return check


_HINTS = {
    "core.owner": "set owner: to a team or an e-mail address",
    "core.pii-transformed": "add a privacy rule for the field (mask, pseudonymize, generalize or redact) under "
    "policies.privacy",
    "core.restricted-subject": "tag the field that identifies the data subject with tags: [subject]",
}


def mesh_rules(settings: Settings, db: Engine | None = None) -> MeshRules:
    """The rules of the workspace's mesh; ``db``: its state store (opened briefly when not given)."""
    governance = load_governance(governance_folder(settings))
    if db is None:
        store = StateStore(settings.state_url)
        try:
            stored = current_ruleset(store.db)
        finally:
            store.close()
    else:
        stored = current_ruleset(db)
    if stored is None:
        return MeshRules(governance)
    rules = CORE + parse_rules_text(stored.text, f"rule set revision {stored.revision}")
    return MeshRules(MeshGovernance(governance.policies, rules), revision=stored.revision)


@dataclass(frozen=True)
class RuleWarning:
    """A finding of a warning rule: which rule, what it says, about what, and where it is written."""

    rule: str
    message: str
    where: str
    """product, ``port:<name>`` or ``field:<port>.<name>``."""
    location: ProblemLocation

    def __str__(self) -> str:
        return f"{self.location}: {self.rule} at {self.where}: {self.message}"


def _location(loaded: LoadedSpec, where: str) -> ProblemLocation:
    """Where a finding's subject (``port:x``, ``field:x.y``, or the product) is written in the spec."""
    kind, _, name = where.partition(":")
    port_name, _, field_name = name.partition(".")
    path: tuple[str | int, ...] = ()
    for index, port in enumerate(loaded.spec.output_ports):
        if kind in ("port", "field") and port.name == port_name:
            path = ("outputPorts", index)
            fields = [f.name for f in port.properties]
            if kind == "field" and field_name in fields:
                path += ("properties", fields.index(field_name))
    return loaded.marks.at(path) or ProblemLocation(str(loaded.file), 1, 1)


@dataclass(frozen=True)
class ProductVerdict:
    product: str
    version: str
    status: Literal["pass", "warn", "fail"]
    findings: list[str]


@dataclass(frozen=True)
class RuleSetChange:
    """What accepting a rule set did: its revision (new or the same one again) and every product's verdict."""

    revision: int
    ruleset: str
    digest: str
    created: bool
    products: list[ProductVerdict]


def accept_ruleset(workspace: Workspace, text: str, author: str) -> RuleSetChange:
    """Validate a mesh rule set (YAML text), store it as a new revision and re-check every deployed product.

    Sending the same rules again stores nothing and re-checks; changed rules under a version that is
    already stored are refused (bump the version). Raises :class:`RuleSetError` (a bad request).
    """
    declared = parse_rules_text(text, "rule set")
    try:
        rules = CORE + declared
    except PolicyError as exc:
        raise RuleSetError(f"rule set: {exc}") from None
    db = workspace.runtime.state.db
    current = current_ruleset(db)
    if current is not None and current.digest == declared.digest:
        revision, created = current.revision, False
    else:
        if current is not None and (current.name, current.version) == (declared.name, declared.version):
            raise RuleSetError(
                f"rule set {declared.label} is already stored (revision {current.revision}) with other rules; "
                f"rule sets are versioned, so bump version (for example to {_next(declared.version)!r}) and send "
                "it again"
            )
        stored = store_ruleset(db, declared.name, declared.version, declared.digest, text, author)
        revision, created = stored.revision, True
    governance = load_governance(governance_folder(workspace.settings))
    mesh = MeshRules(MeshGovernance(governance.policies, rules), revision=revision)
    verdicts = []
    for key, product in sorted(workspace.deployed().items()):
        check = mesh.record(db, product.spec, product.record.version)
        status: Literal["pass", "warn", "fail"] = "fail" if not check.passed else "warn" if check.warnings else "pass"
        verdicts.append(ProductVerdict(key, product.record.version, status, check.blocking + check.warnings))
    return RuleSetChange(revision, rules.label, rules.digest, created, verdicts)


def _next(version: str) -> str:
    """A version after ``version``, for the hint: ``3`` → ``4``, ``1.2`` → ``1.3``, ``beta`` → ``beta.1``."""
    head, dot, last = version.rpartition(".")
    if last.isdigit():
        return f"{head}{dot}{int(last) + 1}"
    return f"{version}.1"
