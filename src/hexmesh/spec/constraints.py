"""Constraints on one field's values (ODCS ``logicalTypeOptions``), checked before publication."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from hexmesh.spec.base import Finite, Int64, SpecModel, check_pattern

__all__ = ["FieldOptions"]

#: A bound: a number, or ISO text for date, timestamp and time fields ("2020-01-01").
Bound = Finite | str


class FieldOptions(SpecModel):
    """Bounds, lengths, a pattern or a list of values a field's values must keep to.

    Every option set here is a check the quality gate runs on each run's output (and
    ``hexmesh test`` on a live port); a value that breaks it fails the run.
    """

    minimum: Bound | None = None
    maximum: Bound | None = None
    exclusive_minimum: Bound | None = None
    exclusive_maximum: Bound | None = None
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=0)
    pattern: str | None = None
    """A regular expression every non-null value matches (whole value)."""
    enum: list[str | Int64 | Finite | bool] | None = None
    """The only values the field may hold (besides null)."""

    @field_validator("minimum", "maximum", "exclusive_minimum", "exclusive_maximum", mode="before")
    @classmethod
    def _no_bool(cls, value: Any) -> Any:
        # YAML true is not a bound (ODCS 3.0 wrote exclusiveMinimum: true; hexmesh import rewrites it).
        if isinstance(value, bool):
            raise ValueError("a bound is a number or a date/time text, not true/false")
        return value

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        return check_pattern(value)

    @model_validator(mode="after")
    def _lengths(self) -> FieldOptions:
        if self.min_length is not None and self.max_length is not None and self.min_length > self.max_length:
            raise ValueError(f"minLength {self.min_length} is above maxLength {self.max_length}")
        return self

    @property
    def bounds(self) -> list[tuple[str, str, Bound]]:
        """``(key, SQL operator a valid value satisfies, bound)`` for each bound set."""
        found = []
        for key, op in (
            ("minimum", ">="),
            ("maximum", "<="),
            ("exclusive_minimum", ">"),
            ("exclusive_maximum", "<"),
        ):
            value = getattr(self, key)
            if value is not None:
                found.append((key, op, value))
        return found
