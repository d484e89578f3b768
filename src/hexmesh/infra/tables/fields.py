"""Map a port's declared fields to Arrow and Iceberg schemas (one mapping, used everywhere)."""

from __future__ import annotations

import pyarrow as pa
from pyiceberg.schema import Schema
from pyiceberg.types import (
    BinaryType,
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    IcebergType,
    LongType,
    NestedField,
    StringType,
    TimestamptzType,
    TimeType,
)

from hexmesh.spec.model import FieldSpec, OutputPort

__all__ = ["arrow_schema", "arrow_type", "iceberg_schema"]


def arrow_type(field: FieldSpec) -> pa.DataType:
    """The Arrow type a field is stored and served as."""
    match field.logical_type:
        case "string":
            return pa.large_string()
        case "integer":
            return pa.int64()
        case "number":
            return pa.float64()
        case "decimal":
            return pa.decimal128(field.precision or 38, field.scale or 0)
        case "boolean":
            return pa.bool_()
        case "date":
            return pa.date32()
        case "timestamp":
            return pa.timestamp("us", tz="UTC")
        case "time":
            return pa.time64("us")
        case "binary":
            return pa.large_binary()
    raise AssertionError(field.logical_type)  # pragma: no cover - the Literal is exhaustive


def _iceberg_type(field: FieldSpec) -> IcebergType:
    match field.logical_type:
        case "string":
            return StringType()
        case "integer":
            return LongType()
        case "number":
            return DoubleType()
        case "decimal":
            return DecimalType(field.precision or 38, field.scale or 0)
        case "boolean":
            return BooleanType()
        case "date":
            return DateType()
        case "timestamp":
            return TimestamptzType()
        case "time":
            return TimeType()
        case "binary":
            return BinaryType()
    raise AssertionError(field.logical_type)  # pragma: no cover


def arrow_schema(port: OutputPort) -> pa.Schema:
    """The schema of a port's data; required fields and primary keys are non-nullable."""
    keys = set(port.primary_key)
    return pa.schema(
        [pa.field(f.name, arrow_type(f), nullable=not (f.required or f.name in keys)) for f in port.properties]
    )


def iceberg_schema(port: OutputPort) -> Schema:
    """The Iceberg schema of a port, with descriptions as field docs."""
    keys = set(port.primary_key)
    return Schema(
        *[
            NestedField(
                field_id=index,
                name=f.name,
                field_type=_iceberg_type(f),
                required=f.required or f.name in keys,
                doc=f.description or None,
            )
            for index, f in enumerate(port.properties, start=1)
        ]
    )
