"""The statistical shape of a table, and drift between two shapes."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["drift", "shape"]

_QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95]


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, int | float) else (str(value) if value is not None else None)


def shape(table: pa.Table) -> dict[str, dict[str, Any]]:
    """Per field: null ratio, distinct count, and min/max (plus mean and quantiles when numeric)."""
    fields: dict[str, dict[str, Any]] = {}
    for name in table.column_names:
        column = table.column(name)
        rows = len(column)
        stats: dict[str, Any] = {
            "null_ratio": (column.null_count / rows) if rows else 0.0,
            "distinct": int(pc.count_distinct(column).as_py()) if rows else 0,
        }
        kind = column.type
        if rows and (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)):
            # Statistics tolerate the precision float64 loses on very large integers.
            values = pc.cast(column, pa.float64(), safe=False)
            bounds = pc.min_max(values).as_py()
            stats.update(
                min=bounds["min"],
                max=bounds["max"],
                mean=pc.mean(values).as_py(),
                quantiles=dict(
                    zip(
                        map(str, _QUANTILES),
                        pc.quantile(values, q=_QUANTILES).to_pylist(),
                        strict=True,
                    )
                ),
            )
        elif rows and (pa.types.is_temporal(kind) or pa.types.is_string(kind)):
            bounds = pc.min_max(column).as_py()
            stats.update(min=_number(bounds["min"]), max=_number(bounds["max"]))
        fields[name] = stats
    return fields


def drift(current: dict[str, dict[str, Any]], previous: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per field: the change in null ratio, and the relative change in mean (numeric fields)."""
    changes: dict[str, dict[str, float]] = {}
    for name, now in current.items():
        before = previous.get(name)
        if before is None:
            continue
        change = {"null_ratio": now["null_ratio"] - before["null_ratio"]}
        if now.get("mean") is not None and before.get("mean") is not None:
            base = abs(before["mean"]) or 1.0
            change["mean"] = (now["mean"] - before["mean"]) / base
        changes[name] = change
    return changes
