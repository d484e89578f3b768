"""The Databricks DQX row checks found in contracts that hexmesh can run, as hexmesh quality checks.

ODCS ``custom`` rules with ``engine: dqx`` name a DQX check function and its arguments. hexmesh
runs ``is_not_null``, ``is_not_empty``, ``is_not_null_and_not_empty``, ``is_in_list`` and
``is_in_range``; any other function is an import error that
names it. DQX's ``criticality: warn`` still gates publication in hexmesh (every check does).
"""

from __future__ import annotations

from typing import Any

__all__ = ["check_of"]


def check_of(implementation: Any, field_name: str | None, columns: dict[str, str]) -> dict[str, Any]:
    """One hexmesh check (as a spec dict) from a DQX rule's ``implementation``."""
    check = implementation.get("check") if isinstance(implementation, dict) else None
    if not isinstance(check, dict) or not check.get("function"):
        raise ValueError("a dqx rule's implementation needs check: {function: …}")
    function = str(check["function"])
    arguments = dict(check.get("arguments") or {})
    column = arguments.pop("column", None) or arguments.pop("col_name", None)
    name = columns.get(str(column), str(column)) if column else field_name
    if name is None:
        raise ValueError(f"dqx check {function} names no column")
    match function:
        case "is_not_null":
            return {"metric": "nullValues", "field": name, "mustBe": 0}
        case "is_not_empty":
            return {"metric": "missingValues", "field": name, "missingValues": [""], "mustBe": 0}
        case "is_not_null_and_not_empty":
            return {"metric": "missingValues", "field": name, "missingValues": ["", None], "mustBe": 0}
        case "is_in_list":
            allowed = list(arguments.get("allowed") or [])
            return {"metric": "invalidValues", "field": name, "validValues": allowed, "mustBe": 0}
        case "is_in_range":
            low, high = arguments.get("min_limit"), arguments.get("max_limit")
            bounds = {k: v for k, v in (("min", low), ("max", high)) if v is not None}
            return {"range": {"field": name, **bounds}}
    raise ValueError(f"dqx check function {function!r} cannot run in hexmesh")
