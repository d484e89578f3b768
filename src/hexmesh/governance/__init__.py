"""Policy evaluation with no I/O: identity, access (Cedar), masking, pseudonyms, encryption, DP, synthetic data, rules.

The same code decides at deploy time and at query time; stores (tokens, audit, grants, keys,
budgets) live in :mod:`hexmesh.infra` and hand their records in.
"""

from typing import TYPE_CHECKING

from hexmesh.lazy import lazy_names

if TYPE_CHECKING:
    from hexmesh.governance.access import Decision, MeshPolicies, PolicyDecider
    from hexmesh.governance.core import CORE
    from hexmesh.governance.encryption import (
        FORGOTTEN,
        decrypt_column,
        encrypt_column,
        restricted_fields,
        subject_field,
    )
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

#: Where each name lives: imported when first used (an error type needs no Cedar, Arrow or crypto).
_WHERE = {
    "ANONYMOUS": "hexmesh.governance.identity",
    "AccessDeniedError": "hexmesh.governance.exceptions",
    "AccessRule": "hexmesh.spec.policies",
    "AuthenticationError": "hexmesh.governance.exceptions",
    "BudgetExhaustedError": "hexmesh.governance.exceptions",
    "BudgetLedger": "hexmesh.governance.privacy",
    "CORE": "hexmesh.governance.core",
    "ColumnAction": "hexmesh.governance.read_plan",
    "Decision": "hexmesh.governance.access",
    "DpQuery": "hexmesh.governance.privacy",
    "DpResult": "hexmesh.governance.privacy",
    "FORGOTTEN": "hexmesh.governance.encryption",
    "Finding": "hexmesh.governance.ruleset",
    "GovernanceError": "hexmesh.governance.exceptions",
    "MemoryLedger": "hexmesh.governance.privacy",
    "MeshGovernance": "hexmesh.governance.folder",
    "MeshPolicies": "hexmesh.governance.access",
    "PolicyDecider": "hexmesh.governance.access",
    "PolicyError": "hexmesh.governance.exceptions",
    "Principal": "hexmesh.governance.identity",
    "PrivacyRule": "hexmesh.spec.policies",
    "ProductPolicies": "hexmesh.spec.policies",
    "ROLES": "hexmesh.governance.identity",
    "ReadPlan": "hexmesh.governance.read_plan",
    "Role": "hexmesh.governance.identity",
    "RowFilter": "hexmesh.governance.rowfilter",
    "RuleReport": "hexmesh.governance.ruleset",
    "RuleSet": "hexmesh.governance.ruleset",
    "Selector": "hexmesh.spec.policies",
    "SqlProjection": "hexmesh.governance.projection",
    "SyntheticModel": "hexmesh.governance.synthetic",
    "UNRESTRICTED": "hexmesh.governance.identity",
    "apply_plan": "hexmesh.governance.enforcement",
    "decrypt_column": "hexmesh.governance.encryption",
    "derive_key": "hexmesh.governance.pseudonym",
    "detokenize": "hexmesh.governance.pseudonym",
    "encrypt_column": "hexmesh.governance.encryption",
    "evaluate": "hexmesh.governance.ruleset",
    "fit": "hexmesh.governance.synthetic",
    "generalize": "hexmesh.governance.masking",
    "parse_folder": "hexmesh.governance.folder",
    "parse_rules": "hexmesh.governance.ruleset",
    "plan_read": "hexmesh.governance.read_plan",
    "plan_schema": "hexmesh.governance.enforcement",
    "private_aggregate": "hexmesh.governance.privacy",
    "product_principal": "hexmesh.governance.identity",
    "pseudonymize": "hexmesh.governance.pseudonym",
    "pseudonymize_udf": "hexmesh.governance.projection",
    "redact": "hexmesh.governance.masking",
    "restricted_fields": "hexmesh.governance.encryption",
    "sql_projection": "hexmesh.governance.projection",
    "subject_field": "hexmesh.governance.encryption",
    "synthetic_rows": "hexmesh.governance.enforcement",
    "tokenize": "hexmesh.governance.pseudonym",
    "tokenize_udf": "hexmesh.governance.projection",
}


__getattr__ = lazy_names(__name__, _WHERE)


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
