"""Global governance rules at validate and deploy time: blocking findings stop, warnings are reported.

The rule set is the shipped core plus the mesh's ``governance/rules.yaml``. Blocking rules are
enforced once a mesh has a governance folder (``HEXMESH_GOVERNANCE`` or ``<home>/governance``):
that folder is how a mesh adopts federated governance. Without one, every finding is reported
as a warning, so existing meshes keep deploying while they add the missing privacy rules.
"""

from __future__ import annotations

import logging

from hexmesh.errors import SpecProblem
from hexmesh.governance import MeshGovernance, RuleReport, evaluate
from hexmesh.infra.settings import Settings
from hexmesh.product.policy import governance_folder, load_governance
from hexmesh.spec import DataProductSpec

__all__ = ["MeshRules", "mesh_rules"]

log = logging.getLogger(__name__)


class MeshRules:
    """The mesh's rule set, and whether its blocking rules block."""

    def __init__(self, governance: MeshGovernance, *, enforce: bool) -> None:
        self.governance = governance
        self.enforce = enforce

    def check(self, spec: DataProductSpec) -> RuleReport:
        return evaluate(spec, self.governance.rules, mesh=self.governance.policies.rules)

    def problems(self, spec: DataProductSpec) -> list[SpecProblem]:
        """Blocking findings as spec problems (when enforced); warnings go to the log."""
        report = self.check(spec)
        blocking = report.blocking if self.enforce else ()
        for finding in report.findings:
            if finding not in blocking:
                log.warning("%s: %s", spec.key, finding)
        return [
            SpecProblem(
                None,
                f"{spec.key}: rule {f.rule} ({report.ruleset}) fails at {f.where}: {f.message}",
                _HINTS.get(f.rule, "change the spec so that the rule holds, or ask the mesh's governance team"),
            )
            for f in blocking
        ]

    def warnings(self, spec: DataProductSpec) -> list[str]:
        report = self.check(spec)
        blocking = report.blocking if self.enforce else ()
        return [str(f) for f in report.findings if f not in blocking]


_HINTS = {
    "core.owner": "set owner: to a team or an e-mail address",
    "core.pii-transformed": "add a privacy rule for the field (mask, pseudonymize, generalize, redact)",
    "core.restricted-subject": "tag the field that identifies the data subject with tags: [subject]",
}


def mesh_rules(settings: Settings) -> MeshRules:
    """The rules of the workspace's mesh: enforced when it has a governance folder."""
    folder = governance_folder(settings)
    return MeshRules(load_governance(folder), enforce=folder.is_dir())
