"""Data product experience plane: one module per verb, behind the :class:`Workspace` facade.

The CLI and the demo call :class:`Workspace` (and its :class:`Stewardship`, the governance
facade) and nothing below it; the product types re-exported here are those the facade's
methods take and return.
"""

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
