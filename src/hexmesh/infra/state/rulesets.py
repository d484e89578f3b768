"""Governance rule sets: the versions a mesh accepted, and which one each deployed version passed.

A rule set sent to the control port is stored as a new *revision* (1, 2, 3, ...) with its text
and digest; revisions are never changed or deleted. Every check of a product version against a
rule set (at deploy, and when a new revision re-evaluates the mesh) records the rule set's label,
digest and revision, whether it passed and every finding, for the discovery document and audit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Engine,
    delete,
    insert,
    select,
)

from hexmesh.infra.state.records import now_us
from hexmesh.infra.state.schema import rule_checks, rulesets

__all__ = [
    "RuleCheck",
    "StoredRuleSet",
    "check_of",
    "current_ruleset",
    "record_check",
    "record_ruleset",
    "rule_checks",
    "ruleset_of",
    "rulesets",
    "store_ruleset",
]


@dataclass(frozen=True)
class StoredRuleSet:
    """One accepted revision of the mesh's rule set (its YAML text, as sent)."""

    revision: int
    name: str
    version: str
    digest: str
    text: str
    author: str
    created_us: int


@dataclass(frozen=True)
class RuleCheck:
    """What a product version got from a rule set: label, digest, revision (None: not a stored one), findings."""

    product: str
    version: str
    ruleset: str
    digest: str
    revision: int | None
    passed: bool
    findings: list[dict[str, Any]] = field(default_factory=list)
    checked_us: int = 0

    @property
    def warnings(self) -> list[str]:
        return [_line(f) for f in self.findings if f.get("severity") != "blocking"]

    @property
    def blocking(self) -> list[str]:
        return [_line(f) for f in self.findings if f.get("severity") == "blocking"]


def _line(finding: Mapping[str, Any]) -> str:
    return f"[{finding.get('severity')}] {finding.get('rule')} at {finding.get('where')}: {finding.get('message')}"


def store_ruleset(db: Engine, name: str, version: str, digest: str, text: str, author: str) -> StoredRuleSet:
    """Append a new revision and return it."""
    created = now_us()
    with db.begin() as conn:
        result = conn.execute(
            insert(rulesets).values(
                name=name, version=version, digest=digest, text=text, author=author, created_us=created
            )
        )
        key = result.inserted_primary_key
        assert key is not None  # an insert into a table with a primary key
        revision = int(key[0])
    return StoredRuleSet(revision, name, version, digest, text, author, created)


def current_ruleset(db: Engine) -> StoredRuleSet | None:
    """The newest accepted revision, None when the control port never accepted one."""
    with db.connect() as conn:
        row = conn.execute(select(rulesets).order_by(rulesets.c.revision.desc()).limit(1)).mappings().first()
    return StoredRuleSet(**dict(row)) if row else None


def record_check(db: Engine, check: RuleCheck) -> None:
    """Remember the newest check of ``check.product`` ``check.version`` (it replaces the previous one)."""
    with db.begin() as conn:
        conn.execute(
            delete(rule_checks).where(rule_checks.c.product == check.product, rule_checks.c.version == check.version)
        )
        conn.execute(
            insert(rule_checks).values(
                product=check.product,
                version=check.version,
                ruleset=check.ruleset,
                digest=check.digest,
                revision=check.revision,
                passed=check.passed,
                findings=list(check.findings),
                checked_us=check.checked_us or now_us(),
            )
        )


def check_of(db: Engine, product: str, version: str) -> RuleCheck | None:
    """The newest check of a deployed version, None if it was never checked."""
    with db.connect() as conn:
        row = (
            conn.execute(select(rule_checks).where(rule_checks.c.product == product, rule_checks.c.version == version))
            .mappings()
            .first()
        )
    return RuleCheck(**dict(row)) if row else None


def record_ruleset(db: Engine, product: str, version: str, ruleset: str, warnings: Sequence[str]) -> None:
    """Remember that ``product`` ``version`` passed ``ruleset`` with ``warnings`` (no digest or revision known)."""
    findings = [{"severity": "warning", "rule": "", "where": "", "message": w} for w in warnings]
    record_check(db, RuleCheck(product, version, ruleset, "", None, True, findings))


def ruleset_of(db: Engine, product: str, version: str) -> str | None:
    """The rule set a deployed version was last checked against (``hexmesh-core@1.0.0+acme@3``)."""
    check = check_of(db, product, version)
    return check.ruleset if check else None
