"""Types: the standards' logical and physical types to hexmesh's logicalType, and back.

hexmesh keeps a field's ``physicalType`` as written, so a type that maps to the same hexmesh
type (``int`` and ``bigint`` are both ``integer``) is given back exactly. Nested types (ODCS
``object``/``array``, DCS ``record``, ``map``...) have no hexmesh counterpart: they are stored as
JSON text (``string``) and their original declaration is kept in the field's custom properties.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "NESTED",
    "dcs_type",
    "from_dcs",
    "from_odcs",
    "from_physical",
    "odcs_type",
    "physical_type",
]

#: Types stored as JSON text.
NESTED = frozenset({"object", "array", "map", "record", "struct", "variant", "json"})
_DECIMAL = re.compile(r"^\s*(?:decimal|numeric|number)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)\s*$", re.IGNORECASE)


def from_physical(physical: str | None) -> dict[str, Any] | None:
    """hexmesh type keys (``logicalType``, ``precision``, ``scale``) a physical type implies, if any."""
    if not physical:
        return None
    decimal = _DECIMAL.match(physical)
    if decimal:
        precision = int(decimal.group(1))
        if 1 <= precision <= 38:
            return {"logicalType": "decimal", "precision": precision, "scale": int(decimal.group(2) or 0)}
        return {"logicalType": "number"}
    word = re.split(r"[\s(]", physical.strip().lower(), maxsplit=1)[0]
    for names, kind in _PHYSICAL:
        if word in names:
            return {"logicalType": kind}
    return None


_PHYSICAL: tuple[tuple[frozenset[str], str], ...] = (
    (
        frozenset({"int", "integer", "bigint", "smallint", "tinyint", "long", "int2", "int4", "int8", "int64"}),
        "integer",
    ),
    (frozenset({"double", "float", "real", "float4", "float8", "float64", "double precision"}), "number"),
    (frozenset({"decimal", "numeric"}), "number"),
    (frozenset({"bool", "boolean"}), "boolean"),
    (frozenset({"date"}), "date"),
    (frozenset({"timestamp", "timestamptz", "timestamp_tz", "timestamp_ntz", "datetime", "datetime2"}), "timestamp"),
    (frozenset({"time"}), "time"),
    (frozenset({"binary", "varbinary", "bytea", "blob", "bytes"}), "binary"),
    (frozenset({"varchar", "char", "text", "string", "nvarchar", "nchar", "uuid"}), "string"),
)


def from_odcs(logical: str | None, physical: str | None) -> dict[str, Any]:
    """hexmesh type keys of an ODCS property (``logicalType`` and ``physicalType``)."""
    implied = from_physical(physical)
    match logical:
        case "string" | "boolean" | "date" | "timestamp" | "time" | "integer":
            return {"logicalType": logical}
        case "number":
            return (
                implied if implied and implied["logicalType"] in ("decimal", "integer") else {"logicalType": "number"}
            )
        case "object" | "array":
            return {"logicalType": "string"}
    return implied or {"logicalType": "string"}


def odcs_type(logical: str) -> str:
    """The ODCS logicalType of a hexmesh logicalType."""
    return {"decimal": "number", "binary": "string"}.get(logical, logical)


def physical_type(logical: str, precision: int | None = None, scale: int | None = None) -> str:
    """The type hexmesh stores a field as (Apache Iceberg's name): the physicalType it exports."""
    if logical == "decimal":
        return f"decimal({precision or 38},{scale or 0})"
    return {
        "string": "string",
        "integer": "long",
        "number": "double",
        "boolean": "boolean",
        "date": "date",
        "timestamp": "timestamptz",
        "time": "time",
        "binary": "binary",
    }[logical]


_DCS = {
    "text": "string",
    "string": "string",
    "varchar": "string",
    "int": "integer",
    "integer": "integer",
    "long": "integer",
    "bigint": "integer",
    "float": "number",
    "double": "number",
    "boolean": "boolean",
    "timestamp": "timestamp",
    "timestamp_tz": "timestamp",
    "timestamp_ntz": "timestamp",
    "date": "date",
    "time": "time",
    "bytes": "binary",
    "null": "string",
}


def from_dcs(kind: str | None, precision: int | None = None, scale: int | None = None) -> dict[str, Any]:
    """hexmesh type keys of a Data Contract Specification field type."""
    if kind in ("number", "decimal", "numeric"):
        if precision is not None and 1 <= precision <= 38:
            return {"logicalType": "decimal", "precision": precision, "scale": scale or 0}
        return {"logicalType": "number"}
    return {"logicalType": _DCS.get(str(kind), "string")}


def dcs_type(logical: str) -> str:
    """The Data Contract Specification type of a hexmesh logicalType."""
    return {
        "string": "string",
        "integer": "long",
        "number": "double",
        "decimal": "decimal",
        "boolean": "boolean",
        "date": "date",
        "timestamp": "timestamp_tz",
        "time": "time",
        "binary": "bytes",
    }[logical]
