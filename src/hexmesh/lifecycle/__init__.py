"""Data product experience plane: one module per verb, behind the :class:`Workspace` facade.

The CLI and the demo call :class:`Workspace` (and its :class:`Stewardship`, the governance
facade) and nothing below it; the product types re-exported here are those the facade's
methods take and return.
"""

from typing import TYPE_CHECKING

from hexmesh.lazy import lazy_names

if TYPE_CHECKING:
    from hexmesh.lifecycle.breaking import Change, compare_specs
    from hexmesh.lifecycle.contracts import ContractCheck, ContractReport
    from hexmesh.lifecycle.deploy import BatchDeployError, DeployOutcome
    from hexmesh.lifecycle.deprecate import LifecycleState
    from hexmesh.lifecycle.importing import ImportOutcome
    from hexmesh.lifecycle.init import init_product
    from hexmesh.lifecycle.plan import Plan
    from hexmesh.lifecycle.rules import RuleWarning
    from hexmesh.lifecycle.scheduler import Attempt, Scheduler
    from hexmesh.lifecycle.stewardship import AccessRequest, AuditEntry, RuleSetChange, Stewardship, TokenInfo, Verdict
    from hexmesh.lifecycle.workspace import PortStatus, ProductStatus, Workspace
    from hexmesh.product import DeployedProduct, OutputPortReader, ReadRequest, RunResult

#: Where each name lives: imported when first used, so a command imports only what it calls
#: (`hexmesh list` needs no engine; docs/adr/0011, STYLE.md 15).
_WHERE = {
    "AccessRequest": "hexmesh.lifecycle.stewardship",
    "Attempt": "hexmesh.lifecycle.scheduler",
    "AuditEntry": "hexmesh.lifecycle.stewardship",
    "BatchDeployError": "hexmesh.lifecycle.deploy",
    "Change": "hexmesh.lifecycle.breaking",
    "ContractCheck": "hexmesh.lifecycle.contracts",
    "ContractReport": "hexmesh.lifecycle.contracts",
    "DeployOutcome": "hexmesh.lifecycle.deploy",
    "DeployedProduct": "hexmesh.product",
    "ImportOutcome": "hexmesh.lifecycle.importing",
    "LifecycleState": "hexmesh.lifecycle.deprecate",
    "OutputPortReader": "hexmesh.product",
    "Plan": "hexmesh.lifecycle.plan",
    "PortStatus": "hexmesh.lifecycle.workspace",
    "ProductStatus": "hexmesh.lifecycle.workspace",
    "ReadRequest": "hexmesh.product",
    "RuleSetChange": "hexmesh.lifecycle.stewardship",
    "RuleWarning": "hexmesh.lifecycle.rules",
    "RunResult": "hexmesh.product",
    "Scheduler": "hexmesh.lifecycle.scheduler",
    "Stewardship": "hexmesh.lifecycle.stewardship",
    "TokenInfo": "hexmesh.lifecycle.stewardship",
    "Verdict": "hexmesh.lifecycle.stewardship",
    "Workspace": "hexmesh.lifecycle.workspace",
    "compare_specs": "hexmesh.lifecycle.breaking",
    "init_product": "hexmesh.lifecycle.init",
}


__getattr__ = lazy_names(__name__, _WHERE)


__all__ = [
    "AccessRequest",
    "Attempt",
    "AuditEntry",
    "BatchDeployError",
    "Change",
    "ContractCheck",
    "ContractReport",
    "DeployOutcome",
    "DeployedProduct",
    "ImportOutcome",
    "LifecycleState",
    "OutputPortReader",
    "Plan",
    "PortStatus",
    "ProductStatus",
    "ReadRequest",
    "RuleSetChange",
    "RuleWarning",
    "RunResult",
    "Scheduler",
    "Stewardship",
    "TokenInfo",
    "Verdict",
    "Workspace",
    "compare_specs",
    "init_product",
]
