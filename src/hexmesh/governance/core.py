"""The shipped rule set, ``hexmesh-core``: bump VERSION whenever a rule is added, removed or tightened."""

from __future__ import annotations

import re
from collections.abc import Iterator

from hexmesh.governance.encryption import subject_field
from hexmesh.governance.ruleset import Rule, RuleSet
from hexmesh.spec.model import DataProductSpec
from hexmesh.spec.policies import ProductPolicies

__all__ = ["CORE", "VERSION"]

VERSION = "1.0.0"
_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
_PII = ("personal", "restricted")

Findings = Iterator[tuple[str, str]]


def _owner(spec: DataProductSpec, _: ProductPolicies) -> Findings:
    if not spec.owner.strip():
        yield "product", "every product needs an owner (a team id or an e-mail address)"


def _freshness(spec: DataProductSpec, _: ProductPolicies) -> Findings:
    for port in spec.output_ports:
        if port.slo is None or port.slo.freshness is None:
            yield f"port:{port.name}", "declare slo.freshness (for example 1d) so consumers know how old data may be"


def _classified(spec: DataProductSpec, _: ProductPolicies) -> Findings:
    for port in spec.output_ports:
        for f in port.properties:
            if f.classification is None:
                yield (
                    f"field:{port.name}.{f.name}",
                    "classify the field (public, internal, confidential, personal, restricted)",
                )


def _pii_transformed(spec: DataProductSpec, policies: ProductPolicies) -> Findings:
    for port in spec.output_ports:
        for f in port.properties:
            if f.classification not in _PII:
                continue
            covered = any(
                (r.field == f.name or r.classification == f.classification) and (not r.ports or port.name in r.ports)
                for r in policies.privacy
            )
            if not covered:
                yield (
                    f"field:{port.name}.{f.name}",
                    f"{f.classification} field needs a privacy rule (redact, pseudonymize, generalize or tokenize)",
                )


def _restricted_subject(spec: DataProductSpec, _: ProductPolicies) -> Findings:
    for port in spec.output_ports:
        if any(f.classification == "restricted" for f in port.properties) and subject_field(port) is None:
            yield f"port:{port.name}", "restricted fields are encrypted per data subject: tag one field `subject`"


def _identifier_links(spec: DataProductSpec, _: ProductPolicies) -> Findings:
    for port in spec.output_ports:
        for f in port.properties:
            if (f.name == "id" or f.name.endswith("_id")) and not f.links and not f.concept:
                yield f"field:{port.name}.{f.name}", "identifier fields carry a semantic link (links or concept)"


def _naming(spec: DataProductSpec, _: ProductPolicies) -> Findings:
    for port in spec.output_ports:
        if not _SNAKE.match(port.name):
            yield f"port:{port.name}", "port names are snake_case"
        for f in port.properties:
            if not _SNAKE.match(f.name):
                yield f"field:{port.name}.{f.name}", "field names are snake_case"


CORE = RuleSet(
    "hexmesh-core",
    VERSION,
    (
        Rule("core.owner", "blocking", "every product has an owner", _owner),
        Rule("core.freshness-slo", "warning", "every output port has a freshness SLO", _freshness),
        Rule("core.classified", "warning", "every field is classified", _classified),
        Rule(
            "core.pii-transformed",
            "blocking",
            "every personal or restricted field has a transformation",
            _pii_transformed,
        ),
        Rule(
            "core.restricted-subject",
            "blocking",
            "ports with restricted fields name their data subject",
            _restricted_subject,
        ),
        Rule("core.identifier-links", "warning", "identifier fields carry a semantic link", _identifier_links),
        Rule("core.naming", "warning", "ports and fields are snake_case", _naming),
    ),
)
