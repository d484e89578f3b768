"""What every model of the descriptor shares: the strict base, names, durations, custom properties."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from hexmesh.spec.duration import parse_duration

__all__ = [
    "Count",
    "CustomProperty",
    "DurationText",
    "FieldName",
    "Finite",
    "Int64",
    "SpecModel",
    "check_duration",
    "check_pattern",
]

FieldName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=63)]
DurationText = Annotated[str, StringConstraints(min_length=1)]
#: Numbers a check compares with: finite (YAML reads 1e400 as infinity) and within 64 bits.
Finite = Annotated[float, Field(allow_inf_nan=False)]
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
Count = Annotated[int, Field(ge=0, le=2**63 - 1)]


class SpecModel(BaseModel):
    """Shared base: unknown keys are errors, models are immutable, keys are camelCase."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
        use_attribute_docstrings=True,
    )


def check_duration(value: str | None) -> str | None:
    if value is not None:
        parse_duration(value)
    return value


def check_pattern(value: str | None) -> str | None:
    """A ``pattern`` key: a regular expression, or a ValueError saying why it is not one."""
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"pattern {value!r} is not a regular expression: {exc}") from None
    return value


class CustomProperty(SpecModel):
    """A key hexmesh has no name for, kept as it came (the ODCS/ODPS ``customProperties`` form).

    ``hexmesh import`` keeps here what an open standard's document says and hexmesh has no key
    for, under ``<standard>.<key>`` (``odcs.servers``), so that ``hexmesh export`` gives it back.
    """

    property: str = Field(min_length=1)
    value: Any = None
    description: str | None = None
