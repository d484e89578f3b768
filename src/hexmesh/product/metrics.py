"""ODCS data-quality metrics and comparison operators, as DuckDB SQL over one port's rows.

A metric counts rows (``unit: rows``, the default) or their percent of all rows
(``unit: percent``); the check passes when that value satisfies its operator. The same code
runs in the quality gate before publication and in ``hexmesh test`` against a live port.
"""

from __future__ import annotations

import math
from typing import Any

import duckdb

from hexmesh.spec import QualityCheck
from hexmesh.spec.constraints import FieldOptions

__all__ = [
    "compare",
    "describe_threshold",
    "duplicate_rows",
    "metric_value",
    "metric_where",
    "option_checks",
    "quote",
    "sql_literal",
]


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _in_list(column: str, values: list[Any]) -> str:
    """``column`` (as text) is one of the non-null ``values``; a null in the list matches nulls."""
    texts = [v for v in values if v is not None]
    parts = []
    if texts:
        listed = ", ".join(sql_literal(str(v).lower() if isinstance(v, bool) else str(v)) for v in texts)
        parts.append(f"cast({column} as varchar) in ({listed})")
    if any(v is None for v in values):
        parts.append(f"{column} is null")
    return "(" + " or ".join(parts) + ")" if parts else "false"


def metric_where(check: QualityCheck) -> str | None:
    """The rows a metric counts, as a WHERE condition; None for rowCount and duplicateValues."""
    column = quote(check.field) if check.field else ""
    match check.metric:
        case "nullValues":
            return f"{column} is null"
        case "missingValues":
            return _in_list(column, check.missing_values if check.missing_values is not None else [None])
        case "invalidValues":
            terms = []
            if check.valid_values is not None:
                terms.append(f"not {_in_list(column, check.valid_values)}")
            if check.pattern is not None:
                terms.append(f"not regexp_full_match(cast({column} as varchar), {sql_literal(check.pattern)})")
            return f"{column} is not null and (" + " or ".join(terms) + ")"
    return None


def duplicate_rows(check: QualityCheck) -> tuple[str, str]:
    """For duplicateValues: (the key columns, the condition that all of them are present)."""
    names = check.fields or ([check.field] if check.field else [])
    cols = ", ".join(quote(c) for c in names)
    present = " and ".join(f"{quote(c)} is not null" for c in names)
    return cols, present


def metric_value(con: duckdb.DuckDBPyConnection, table: str, check: QualityCheck) -> tuple[float, int]:
    """``(value, rows)``: the metric in its unit, and the port's row count."""
    total = int(con.sql(f"select count(*) from {table}").to_arrow_table()[0][0].as_py())
    if check.metric == "rowCount":
        return float(total), total
    if check.metric == "duplicateValues":
        cols, present = duplicate_rows(check)
        counted = con.sql(f"select count(*) - count(distinct ({cols})) from {table} where {present}").to_arrow_table()[
            0
        ][0]
        bad = int(counted.as_py() or 0)
    else:
        bad = int(con.sql(f"select count(*) from {table} where {metric_where(check)}").to_arrow_table()[0][0].as_py())
    if check.unit == "percent":
        return (100.0 * bad / total if total else 0.0), total
    return float(bad), total


def compare(value: Any, operator: str, threshold: Any) -> bool:
    """Whether ``value`` satisfies ``operator`` (an ODCS ``mustBe*`` key) with ``threshold``."""
    if operator in ("mustBe", "mustNotBe"):
        equal = _equal(value, threshold)
        return equal if operator == "mustBe" else not equal
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return False
    number = float(value)
    match operator:
        case "mustBeGreaterThan":
            return bool(number > threshold)
        case "mustBeGreaterOrEqualTo":
            return bool(number >= threshold)
        case "mustBeLessThan":
            return bool(number < threshold)
        case "mustBeLessOrEqualTo":
            return bool(number <= threshold)
        case "mustBeBetween":
            return bool(threshold[0] <= number <= threshold[1])
        case "mustNotBeBetween":
            return not threshold[0] <= number <= threshold[1]
    raise AssertionError(operator)  # pragma: no cover - QualityCheck allows only these


def _equal(value: Any, threshold: Any) -> bool:
    if isinstance(value, bool) or isinstance(threshold, bool):
        return value is threshold or (isinstance(value, bool) and str(value).lower() == str(threshold).lower())
    if isinstance(value, int | float) and isinstance(threshold, int | float):
        return math.isclose(float(value), float(threshold), rel_tol=1e-9, abs_tol=1e-9)
    return str(value) == str(threshold)


_WORDS = {
    "mustBe": "must be",
    "mustNotBe": "must not be",
    "mustBeGreaterThan": "must be >",
    "mustBeGreaterOrEqualTo": "must be >=",
    "mustBeLessThan": "must be <",
    "mustBeLessOrEqualTo": "must be <=",
    "mustBeBetween": "must be between",
    "mustNotBeBetween": "must not be between",
}


def describe_threshold(operator: str, threshold: Any) -> str:
    shown = f"{threshold[0]} and {threshold[1]}" if isinstance(threshold, list) else str(threshold)
    return f"{_WORDS[operator]} {shown}"


_CASTS = {"date": "date", "timestamp": "timestamptz", "time": "time"}


def option_checks(column: str, logical_type: str, options: FieldOptions) -> list[tuple[str, str, str]]:
    """``(option key, WHERE of the rows breaking it, what it promises)`` for each option set."""
    col = quote(column)
    found = []
    for key, op, bound in options.bounds:
        literal = sql_literal(bound)
        if isinstance(bound, str) and logical_type in _CASTS:
            literal = f"cast({literal} as {_CASTS[logical_type]})"
        found.append((key, f"{col} is not null and not ({col} {op} {literal})", f"{op} {bound}"))
    if options.min_length is not None:
        found.append(("minLength", f"length({col}) < {options.min_length}", f"length >= {options.min_length}"))
    if options.max_length is not None:
        found.append(("maxLength", f"length({col}) > {options.max_length}", f"length <= {options.max_length}"))
    if options.pattern is not None:
        match = f"regexp_full_match(cast({col} as varchar), {sql_literal(options.pattern)})"
        found.append(("pattern", f"{col} is not null and not {match}", f"matches {options.pattern}"))
    if options.enum is not None:
        found.append(("enum", f"{col} is not null and not {_in_list(col, list(options.enum))}", f"in {options.enum}"))
    return [(_camel(key), where, promise) for key, where, promise in found]


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)
