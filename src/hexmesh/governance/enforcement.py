"""Apply a read plan to an Arrow table: filter rows, drop hidden columns, transform the rest."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from hexmesh.governance.exceptions import AccessDeniedError, PolicyError
from hexmesh.governance.masking import generalize, redact
from hexmesh.governance.pseudonym import derive_key, pseudonymize, tokenize
from hexmesh.governance.read_plan import ReadPlan
from hexmesh.governance.synthetic import SyntheticModel

__all__ = ["apply_plan", "plan_schema", "synthetic_rows"]


def plan_schema(schema: pa.Schema, plan: ReadPlan) -> pa.Schema:
    """The schema the principal sees: hidden columns gone, transformed ones retyped."""
    out = []
    for name, action in plan.columns.items():
        if name not in schema.names:
            continue
        field = schema.field(name)
        if action.kind in ("pseudonymize", "tokenize") or (
            action.kind == "generalize"
            and action.rule is not None
            and action.rule.generalize is not None
            and action.rule.generalize.bands is not None
        ):
            field = field.with_type(pa.string())
        out.append(field)
    return pa.schema(out)


def apply_plan(table: pa.Table, plan: ReadPlan, secret: bytes) -> pa.Table:
    """The rows and columns ``plan`` allows, transformed; raises when the plan does not allow rows.

    Rows are filtered first, on the original values, so the filter never sees (or reveals)
    transformed data; hidden columns are dropped before anything else touches them.
    """
    if not plan.decision.allowed or plan.variant != "rows":
        raise AccessDeniedError(
            f"{plan.decision.principal} may not read rows of {plan.decision.resource}"
            + (f" (only the {plan.variant} variant)" if plan.decision.allowed else "")
        )
    if plan.row_filter is not None:
        table = plan.row_filter.apply(table)
    for name, minimum in plan.min_group.items():
        table = table.filter(pc.greater_equal(table.column(name), minimum))
    return _columns(table, plan, secret)


def synthetic_rows(model: SyntheticModel, plan: ReadPlan, n: int, secret: bytes, seed: int | None = None) -> pa.Table:
    """``n`` synthetic rows as ``plan`` allows them: only visible columns, with the same transformations.

    No row filter applies: synthetic rows belong to nobody. Hidden columns are never sampled out.
    """
    if not plan.decision.allowed:
        raise AccessDeniedError("; ".join(plan.decision.reasons))
    wanted = plan.row_filter.sql() if plan.row_filter is not None else None
    if model.scope != wanted:
        # A model fitted on rows outside the principal's filter would describe those rows.
        raise AccessDeniedError(
            f"this synthetic model was fitted on rows {model.scope or 'all'}; {plan.decision.principal} may only "
            f"see rows {wanted or 'all'}: fit one on plan.row_filter.apply(table) with scope=plan.row_filter.sql()"
        )
    return _columns(model.sample(n, seed), plan, secret)


def _columns(table: pa.Table, plan: ReadPlan, secret: bytes) -> pa.Table:
    names = [n for n in plan.columns if n in table.column_names]
    arrays = []
    for name in names:
        action = plan.columns[name]
        column = table.column(name)
        if action.kind == "redact":
            arrays.append(redact(column))
        elif action.kind == "generalize":
            assert action.rule is not None and action.rule.generalize is not None
            arrays.append(generalize(column, action.rule.generalize))
        elif action.kind in ("pseudonymize", "tokenize"):
            if action.scope is None:
                raise PolicyError(f"{name}: a {action.kind} action needs a key scope")
            key = derive_key(secret, action.kind, action.scope, 32 if action.kind == "pseudonymize" else 64)
            arrays.append((pseudonymize if action.kind == "pseudonymize" else tokenize)(column, key))
        else:
            arrays.append(column)
    # With no visible column the result still says how many rows passed the filter, like SQL would.
    return pa.table(arrays, names=names) if names else table.select([])
