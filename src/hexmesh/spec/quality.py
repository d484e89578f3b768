"""Quality checks of an output port: hexmesh's own kinds, and ODCS metrics and SQL with ``mustBe*``.

A check has exactly one kind. ``metric`` and ``sql`` checks may carry one ODCS comparison
operator (``mustBe``, ``mustBeLessThan``...): the metric's value (a count of rows, or a percent
of rows with ``unit: percent``) or the query's single value must satisfy it. A ``sql`` check
without an operator returns one true/false value, as before.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import Field, field_validator, model_validator

from hexmesh.spec.base import (
    Count,
    CustomProperty,
    DurationText,
    FieldName,
    Finite,
    Int64,
    SpecModel,
    check_duration,
    check_pattern,
)

__all__ = [
    "METRICS",
    "OPERATORS",
    "QUALITY_KINDS",
    "AcceptedValues",
    "Freshness",
    "Metric",
    "QualityCheck",
    "RangeCheck",
    "RowCount",
]

Scalar = str | Int64 | Finite | bool


class AcceptedValues(SpecModel):
    field: FieldName
    values: list[Scalar]


class RangeCheck(SpecModel):
    field: FieldName
    min: Finite | None = None
    max: Finite | None = None


class RowCount(SpecModel):
    min: Count | None = None
    max: Count | None = None


class Freshness(SpecModel):
    max_age: DurationText
    """The newest event time must be at most this old when the run publishes."""
    field: FieldName | None = None
    """Defaults to the port's eventTime field."""


QualityKind = Literal["notNull", "unique", "acceptedValues", "range", "rowCount", "freshness", "sql", "metric"]
QUALITY_KINDS: tuple[str, ...] = get_args(QualityKind)
#: The ODCS library metrics hexmesh runs.
Metric = Literal["nullValues", "missingValues", "invalidValues", "duplicateValues", "rowCount"]
METRICS: tuple[str, ...] = get_args(Metric)
#: ODCS comparison operators, as camelCase keys of a check.
OPERATORS = (
    "mustBe",
    "mustNotBe",
    "mustBeGreaterThan",
    "mustBeGreaterOrEqualTo",
    "mustBeLessThan",
    "mustBeLessOrEqualTo",
    "mustBeBetween",
    "mustNotBeBetween",
)


def _snake(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)


class QualityCheck(SpecModel):
    """One quality check: exactly one of the check keys, plus an optional name."""

    name: str | None = None
    description: str = ""
    not_null: list[FieldName] | None = None
    unique: list[FieldName] | None = None
    """The combination of these fields is unique within the run's output."""
    accepted_values: AcceptedValues | None = None
    range: RangeCheck | None = None
    row_count: RowCount | None = None
    freshness: Freshness | None = None
    sql: str | None = None
    """A query over the port (a table named like the port; ``{object}`` and ``{property}`` are
    replaced by the port and ``field``) returning one true/false value, or one value compared
    by an operator."""
    metric: Metric | None = None
    """An ODCS library metric: nullValues, missingValues, invalidValues, duplicateValues, rowCount."""
    field: FieldName | None = None
    """The field a metric (or a SQL check) is about."""
    fields: list[FieldName] | None = None
    """duplicateValues over a combination of fields."""
    valid_values: list[Scalar | None] | None = None
    """invalidValues: the values that are valid (a value outside them is invalid)."""
    pattern: str | None = None
    """invalidValues: a regular expression valid values match."""
    missing_values: list[Scalar | None] | None = None
    """missingValues: the values that count as missing (default: null)."""
    unit: Literal["rows", "percent"] | None = None
    """What a metric counts: rows (default) or percent of the rows."""
    must_be: Any = None
    must_not_be: Any = None
    must_be_greater_than: Finite | None = None
    must_be_greater_or_equal_to: Finite | None = None
    must_be_less_than: Finite | None = None
    must_be_less_or_equal_to: Finite | None = None
    must_be_between: list[Finite] | None = Field(default=None, min_length=2, max_length=2)
    must_not_be_between: list[Finite] | None = Field(default=None, min_length=2, max_length=2)
    custom_properties: list[CustomProperty] = []

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        return check_pattern(value)

    @model_validator(mode="after")
    def _exactly_one(self) -> QualityCheck:
        kinds = [kind for kind in QUALITY_KINDS if getattr(self, _snake(kind)) is not None]
        if len(kinds) != 1:
            raise ValueError(
                "a quality check needs exactly one of "
                + ", ".join(QUALITY_KINDS)
                + (f"; found {', '.join(kinds)}" if kinds else "")
            )
        if self.freshness is not None:
            check_duration(self.freshness.max_age)
        operators = self.operators
        kind = kinds[0]
        if len(operators) > 1:
            raise ValueError(f"a quality check takes one operator; found {', '.join(operators)}")
        if operators and kind not in ("metric", "sql"):
            raise ValueError(f"{operators[0]} compares the value of a metric or sql check, not of {kind}")
        if kind == "metric":
            self._metric_rules()
        else:
            extra = [k for k in ("fields", "valid_values", "pattern", "missing_values", "unit") if getattr(self, k)]
            if extra:
                raise ValueError(f"{', '.join(extra)} belong to metric checks, not to {kind}")
        for bounds in (self.must_be_between, self.must_not_be_between):
            if bounds is not None and bounds[0] > bounds[1]:
                raise ValueError(f"between {bounds}: put the smaller number first")
        return self

    def _metric_rules(self) -> None:
        metric = self.metric
        if not self.operators:
            raise ValueError(f"metric {metric} needs an operator, for example mustBe: 0")
        if metric in ("nullValues", "missingValues", "invalidValues") and self.field is None:
            raise ValueError(f"metric {metric} needs the field it counts (field: …)")
        if metric == "duplicateValues" and self.field is None and not self.fields:
            raise ValueError("metric duplicateValues needs field or fields")
        if metric == "rowCount" and (self.field or self.fields or self.unit == "percent"):
            raise ValueError("metric rowCount counts the rows of the port: no field, no percent")
        if metric == "invalidValues" and self.valid_values is None and self.pattern is None:
            raise ValueError("metric invalidValues needs validValues or a pattern")
        if (self.valid_values is not None or self.pattern is not None) and metric != "invalidValues":
            raise ValueError("validValues and pattern belong to metric invalidValues")
        if self.missing_values is not None and metric != "missingValues":
            raise ValueError("missingValues belongs to metric missingValues")

    @property
    def operators(self) -> list[str]:
        """The comparison operators this check carries (zero or one)."""
        return [op for op in OPERATORS if getattr(self, _snake(op)) is not None]

    @property
    def threshold(self) -> tuple[str, Any] | None:
        """``(operator, value)``, or None for a check without one."""
        found = self.operators
        return (found[0], getattr(self, _snake(found[0]))) if found else None

    @property
    def kind(self) -> str:
        return next(k for k in QUALITY_KINDS if getattr(self, _snake(k)) is not None)

    @property
    def columns(self) -> list[str]:
        """The fields this check names (to check they exist)."""
        found: list[str] = []
        for kind in ("not_null", "unique", "fields"):
            found.extend(getattr(self, kind) or [])
        for kind in ("accepted_values", "range", "freshness"):
            value = getattr(self, kind)
            if value is not None and value.field:
                found.append(value.field)
        if self.field:
            found.append(self.field)
        return found

    @property
    def label(self) -> str:
        """A stable, human-readable name for reports."""
        if self.name:
            return self.name
        if self.metric is not None:
            about = self.field or ", ".join(self.fields or [])
            return f"{self.metric}({about})" if about else self.metric
        value = getattr(self, _snake(self.kind))
        if isinstance(value, list):
            return f"{self.kind}({', '.join(value)})"
        if isinstance(value, SpecModel) and hasattr(value, "field") and value.field:
            return f"{self.kind}({value.field})"
        return self.kind
