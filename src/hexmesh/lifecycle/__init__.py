"""Data product experience plane: one module per verb, behind the :class:`Workspace` facade."""

from hexmesh.lifecycle.breaking import Change, compare_specs
from hexmesh.lifecycle.contracts import ContractCheck, ContractReport
from hexmesh.lifecycle.deploy import BatchDeployError, DeployOutcome
from hexmesh.lifecycle.deprecate import LifecycleState
from hexmesh.lifecycle.importing import ImportOutcome
from hexmesh.lifecycle.init import init_product
from hexmesh.lifecycle.plan import Plan
from hexmesh.lifecycle.scheduler import Attempt, Scheduler
from hexmesh.lifecycle.workspace import PortStatus, ProductStatus, Workspace

__all__ = [
    "Attempt",
    "BatchDeployError",
    "Change",
    "ContractCheck",
    "ContractReport",
    "DeployOutcome",
    "ImportOutcome",
    "LifecycleState",
    "Plan",
    "PortStatus",
    "ProductStatus",
    "Scheduler",
    "Workspace",
    "compare_specs",
    "init_product",
]
