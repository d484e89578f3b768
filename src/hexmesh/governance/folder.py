"""A mesh's governance folder, parsed from its files' text: Cedar policies, mesh policies, rules.

``<mesh>/governance/`` holds ``*.cedar`` (global Cedar policies), ``policies.yaml`` (access and
privacy rules in the product form, applied to every product) and ``rules.yaml`` (declarative
governance rules). The caller reads the files; this module only parses, so it stays I/O-free.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import yaml
from pydantic import ValidationError

from hexmesh.governance.access import MeshPolicies
from hexmesh.governance.cedar import parse_cedar
from hexmesh.governance.core import CORE
from hexmesh.governance.exceptions import PolicyError
from hexmesh.governance.ruleset import RuleSet, parse_rules_text
from hexmesh.spec import safe_yaml
from hexmesh.spec.policies import ProductPolicies

__all__ = ["MeshGovernance", "parse_folder"]


@dataclass(frozen=True)
class MeshGovernance:
    """What a mesh adds to every product: policies for the policy decider, rules for validation."""

    policies: MeshPolicies
    rules: RuleSet


def _yaml(name: str, text: str) -> object:
    try:
        return safe_yaml.load(text) or {}
    except yaml.YAMLError as exc:
        raise PolicyError(f"governance/{name} is not valid YAML: {exc}") from exc


def parse_folder(files: Mapping[str, str]) -> MeshGovernance:
    """Parse ``{file name: text}`` of the governance folder; other files (README.md, ...) are ignored."""
    cedar = {name: text for name, text in files.items() if name.endswith(".cedar")}
    for name, text in cedar.items():
        parse_cedar(text, f"governance/{name}")  # fail here, with the file's name, not at first use
    rules = ProductPolicies()
    if "policies.yaml" in files:
        try:
            rules = ProductPolicies.model_validate(_yaml("policies.yaml", files["policies.yaml"]))
        except ValidationError as exc:
            raise PolicyError(f"governance/policies.yaml: {exc}") from exc
    ruleset = CORE
    if "rules.yaml" in files:
        ruleset = CORE + parse_rules_text(files["rules.yaml"], "governance/rules.yaml")
    return MeshGovernance(MeshPolicies(cedar=cedar, rules=rules), ruleset)
