"""PostgreSQL type OIDs and the mapping between Arrow types and them."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

__all__ = [
    "PG_OID_METADATA_KEY",
    "PG_TYPMOD_METADATA_KEY",
    "Oid",
    "PgType",
    "array_oid",
    "arrow_to_pg",
    "element_oid",
    "oid_to_arrow",
    "type_name",
]

# Field metadata key a backend sets to force a PG type (e.g. b"3802" for jsonb, b"1043" varchar).
PG_OID_METADATA_KEY = b"pg_oid"
# and its typmod, which Arrow has no place for (b"24" for varchar(20): PostgreSQL sends n + 4).
PG_TYPMOD_METADATA_KEY = b"pg_typmod"


class Oid:
    """Built-in PostgreSQL type OIDs (pg_type.oid)."""

    BOOL = 16
    BYTEA = 17
    CHAR = 18  # "char": one byte, as PostgreSQL's catalogs keep their codes
    NAME = 19
    INT8 = 20
    INT2 = 21
    INT2VECTOR = 22  # pg_index.indkey: an int2 array written "1 2" as text
    INT4 = 23
    TEXT = 25
    OID = 26
    JSON = 114
    FLOAT4 = 700
    FLOAT8 = 701
    UNKNOWN = 705
    VARCHAR = 1043
    DATE = 1082
    TIME = 1083
    TIMESTAMP = 1114
    TIMESTAMPTZ = 1184
    INTERVAL = 1186
    NUMERIC = 1700
    UUID = 2950
    JSONB = 3802


_ARRAYS = {
    Oid.BOOL: 1000,
    Oid.BYTEA: 1001,
    Oid.CHAR: 1002,
    Oid.NAME: 1003,
    Oid.INT2: 1005,
    Oid.INT4: 1007,
    Oid.TEXT: 1009,
    Oid.INT8: 1016,
    Oid.VARCHAR: 1015,
    Oid.FLOAT4: 1021,
    Oid.FLOAT8: 1022,
    Oid.OID: 1028,
    Oid.DATE: 1182,
    Oid.TIME: 1183,
    Oid.TIMESTAMP: 1115,
    Oid.TIMESTAMPTZ: 1185,
    Oid.INTERVAL: 1187,
    Oid.NUMERIC: 1231,
    Oid.UUID: 2951,
    Oid.JSON: 199,
    Oid.JSONB: 3807,
}
_ELEMENTS = {v: k for k, v in _ARRAYS.items()}
_ELEMENTS[Oid.INT2VECTOR] = Oid.INT2  # sent in binary as an int2 array, as PostgreSQL's int2vectorsend does

_NAMES = {
    Oid.BOOL: "bool",
    Oid.BYTEA: "bytea",
    Oid.CHAR: "char",
    Oid.NAME: "name",
    Oid.INT8: "int8",
    Oid.INT2: "int2",
    Oid.INT2VECTOR: "int2vector",
    Oid.INT4: "int4",
    Oid.TEXT: "text",
    Oid.OID: "oid",
    Oid.JSON: "json",
    Oid.FLOAT4: "float4",
    Oid.FLOAT8: "float8",
    Oid.UNKNOWN: "unknown",
    Oid.VARCHAR: "varchar",
    Oid.DATE: "date",
    Oid.TIME: "time",
    Oid.TIMESTAMP: "timestamp",
    Oid.TIMESTAMPTZ: "timestamptz",
    Oid.INTERVAL: "interval",
    Oid.NUMERIC: "numeric",
    Oid.UUID: "uuid",
    Oid.JSONB: "jsonb",
}

_TYPLEN = {
    Oid.BOOL: 1,
    Oid.INT2: 2,
    Oid.INT4: 4,
    Oid.OID: 4,
    Oid.INT8: 8,
    Oid.FLOAT4: 4,
    Oid.FLOAT8: 8,
    Oid.DATE: 4,
    Oid.TIME: 8,
    Oid.TIMESTAMP: 8,
    Oid.TIMESTAMPTZ: 8,
    Oid.INTERVAL: 16,
    Oid.UUID: 16,
    Oid.NAME: 64,
    Oid.CHAR: 1,
}


@dataclass(frozen=True)
class PgType:
    """A PostgreSQL type as announced in RowDescription."""

    oid: int
    typlen: int = -1
    typmod: int = -1

    @property
    def element(self) -> int | None:
        """Element OID when this is an array type, else None."""
        return _ELEMENTS.get(self.oid)


def array_oid(elem: int) -> int:
    """OID of the one-dimensional array type of an element type (text[] if unknown)."""
    return _ARRAYS.get(elem, 1009)


def element_oid(oid: int) -> int | None:
    """Element OID of an array type OID, or None."""
    return _ELEMENTS.get(oid)


def type_name(oid: int) -> str:
    """Short PostgreSQL name of a type OID (e.g. 'int4', '_int4' for arrays)."""
    if oid in _ELEMENTS and oid not in _NAMES:
        return "_" + _NAMES[_ELEMENTS[oid]]
    return _NAMES.get(oid, "unknown")


def _extension_name(dtype: pa.DataType) -> str | None:
    if isinstance(dtype, pa.BaseExtensionType):
        return str(dtype.extension_name)
    return None


def _scalar_oid(dtype: pa.DataType) -> int:
    ext = _extension_name(dtype)
    if ext == "arrow.uuid":
        return Oid.UUID
    if ext == "arrow.json":
        return Oid.JSON
    if ext is not None:
        return _scalar_oid(dtype.storage_type)
    t = pa.types
    if pa.types.is_dictionary(dtype):
        return _scalar_oid(dtype.value_type)
    checks: list[tuple[bool, int]] = [
        (t.is_boolean(dtype), Oid.BOOL),
        (t.is_int8(dtype) or t.is_int16(dtype) or t.is_uint8(dtype), Oid.INT2),
        (t.is_int32(dtype) or t.is_uint16(dtype), Oid.INT4),
        (t.is_int64(dtype) or t.is_uint32(dtype), Oid.INT8),
        (t.is_uint64(dtype) or t.is_decimal(dtype), Oid.NUMERIC),
        (t.is_float16(dtype) or t.is_float32(dtype), Oid.FLOAT4),
        (t.is_float64(dtype), Oid.FLOAT8),
        (t.is_string(dtype) or t.is_large_string(dtype) or t.is_string_view(dtype), Oid.TEXT),
        (t.is_binary(dtype) or t.is_large_binary(dtype) or t.is_binary_view(dtype), Oid.BYTEA),
        (t.is_fixed_size_binary(dtype), Oid.BYTEA),
        (t.is_date(dtype), Oid.DATE),
        (t.is_time(dtype), Oid.TIME),
        (t.is_timestamp(dtype) and dtype.tz is None, Oid.TIMESTAMP),
        (t.is_timestamp(dtype), Oid.TIMESTAMPTZ),
        (t.is_interval(dtype) or t.is_duration(dtype), Oid.INTERVAL),
    ]
    for matched, oid in checks:
        if matched:
            return oid
    # Structs, maps, nulls and anything exotic are rendered as text.
    return Oid.TEXT


def _is_list(dtype: pa.DataType) -> bool:
    t = pa.types
    return bool(t.is_list(dtype) or t.is_large_list(dtype) or t.is_fixed_size_list(dtype))


def arrow_to_pg(field: pa.Field) -> PgType:
    """PostgreSQL type announced for an Arrow field (metadata b'pg_oid' overrides)."""
    meta = field.metadata or {}
    dtype = field.type
    if PG_OID_METADATA_KEY in meta:
        oid = int(meta[PG_OID_METADATA_KEY])
    elif _is_list(dtype):
        oid = array_oid(_scalar_oid(dtype.value_type))
    else:
        oid = _scalar_oid(dtype)
    typmod = -1
    if PG_TYPMOD_METADATA_KEY in meta:
        typmod = int(meta[PG_TYPMOD_METADATA_KEY])
    elif oid == Oid.NUMERIC and pa.types.is_decimal(dtype):
        # PostgreSQL encodes numeric(p, s) as ((p << 16) | s) + 4.
        typmod = ((dtype.precision << 16) | dtype.scale) + 4
    return PgType(oid, _TYPLEN.get(oid, -1), typmod)


_TO_ARROW = {
    Oid.BOOL: pa.bool_(),
    Oid.BYTEA: pa.binary(),
    Oid.NAME: pa.string(),
    Oid.CHAR: pa.string(),
    Oid.INT8: pa.int64(),
    Oid.INT2: pa.int16(),
    Oid.INT4: pa.int32(),
    Oid.OID: pa.int64(),
    Oid.TEXT: pa.string(),
    Oid.VARCHAR: pa.string(),
    Oid.UNKNOWN: pa.string(),
    Oid.JSON: pa.string(),
    Oid.JSONB: pa.string(),
    Oid.FLOAT4: pa.float32(),
    Oid.FLOAT8: pa.float64(),
    Oid.DATE: pa.date32(),
    Oid.TIME: pa.time64("us"),
    Oid.TIMESTAMP: pa.timestamp("us"),
    Oid.TIMESTAMPTZ: pa.timestamp("us", tz="UTC"),
    Oid.INTERVAL: pa.month_day_nano_interval(),
    Oid.NUMERIC: pa.decimal128(38, 10),
    Oid.UUID: pa.uuid(),
}


def oid_to_arrow(oid: int) -> pa.DataType:
    """Arrow type used for values of a PostgreSQL type OID (text for unknown OIDs)."""
    elem = _ELEMENTS.get(oid)
    if elem is not None:
        return pa.list_(_TO_ARROW.get(elem, pa.string()))
    return _TO_ARROW.get(oid, pa.string())
