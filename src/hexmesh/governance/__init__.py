"""Policy evaluation with no I/O: identity, access (Cedar), masking, pseudonyms, encryption, DP, synthetic data, rules.

The same code decides at deploy time and at query time; stores (tokens, audit, grants, keys,
budgets) live in :mod:`hexmesh.infra` and hand their records in.
"""

from hexmesh.governance.access import Decision, MeshPolicies, PolicyDecider
from hexmesh.governance.core import CORE
from hexmesh.governance.encryption import FORGOTTEN, decrypt_column, encrypt_column, restricted_fields, subject_field
from hexmesh.governance.enforcement import apply_plan, plan_schema, synthetic_rows
from hexmesh.governance.exceptions import (
    AccessDeniedError,
    AuthenticationError,
    BudgetExhaustedError,
    GovernanceError,
    PolicyError,
)
from hexmesh.governance.folder import MeshGovernance, parse_folder
from hexmesh.governance.identity import ANONYMOUS, ROLES, UNRESTRICTED, Principal, Role, product_principal
from hexmesh.governance.masking import generalize, redact
from hexmesh.governance.privacy import BudgetLedger, DpQuery, DpResult, MemoryLedger, private_aggregate
from hexmesh.governance.projection import SqlProjection, pseudonymize_udf, sql_projection, tokenize_udf
from hexmesh.governance.pseudonym import derive_key, detokenize, pseudonymize, tokenize
from hexmesh.governance.read_plan import ColumnAction, ReadPlan, plan_read
from hexmesh.governance.rowfilter import RowFilter
from hexmesh.governance.ruleset import Finding, RuleReport, RuleSet, evaluate, parse_rules
from hexmesh.governance.synthetic import SyntheticModel, fit
from hexmesh.spec.policies import AccessRule, PrivacyRule, ProductPolicies, Selector

__all__ = [
    "ANONYMOUS",
    "CORE",
    "FORGOTTEN",
    "ROLES",
    "UNRESTRICTED",
    "AccessDeniedError",
    "AccessRule",
    "AuthenticationError",
    "BudgetExhaustedError",
    "BudgetLedger",
    "ColumnAction",
    "Decision",
    "DpQuery",
    "DpResult",
    "Finding",
    "GovernanceError",
    "MemoryLedger",
    "MeshGovernance",
    "MeshPolicies",
    "PolicyDecider",
    "PolicyError",
    "Principal",
    "PrivacyRule",
    "ProductPolicies",
    "ReadPlan",
    "Role",
    "RowFilter",
    "RuleReport",
    "RuleSet",
    "Selector",
    "SqlProjection",
    "SyntheticModel",
    "apply_plan",
    "decrypt_column",
    "derive_key",
    "detokenize",
    "encrypt_column",
    "evaluate",
    "fit",
    "generalize",
    "parse_folder",
    "parse_rules",
    "plan_read",
    "plan_schema",
    "private_aggregate",
    "product_principal",
    "pseudonymize",
    "pseudonymize_udf",
    "redact",
    "restricted_fields",
    "sql_projection",
    "subject_field",
    "synthetic_rows",
    "tokenize",
    "tokenize_udf",
]
