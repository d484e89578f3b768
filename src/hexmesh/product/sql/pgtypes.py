"""PostgreSQL's own catalog rows that DuckDB has no equivalent for: its types and its server settings.

Clients join ``pg_attribute.atttypid`` to ``pg_type.oid`` by PostgreSQL OID and read type names,
lengths and array types from there (pgjdbc's type cache and getTypeInfo, DBeaver, psql); they
read ``max_index_keys`` and friends from ``pg_settings``. The rows are PostgreSQL 15's.
"""

from __future__ import annotations

from hexmesh.product.sql.commands import DEFAULTS

__all__ = ["SETTINGS", "TYPES", "settings_values", "types_values"]

#: oid, typname, typlen, typbyval, typtype, typcategory, typelem, typarray, typinput (PostgreSQL 15).
TYPES: list[tuple[int, str, int, bool, str, str, int, int, str]] = [
    (16, "bool", 1, True, "b", "B", 0, 1000, "boolin"),
    (17, "bytea", -1, False, "b", "U", 0, 1001, "byteain"),
    (18, "char", 1, True, "b", "Z", 0, 1002, "charin"),
    (19, "name", 64, False, "b", "S", 18, 1003, "namein"),
    (20, "int8", 8, True, "b", "N", 0, 1016, "int8in"),
    (21, "int2", 2, True, "b", "N", 0, 1005, "int2in"),
    (23, "int4", 4, True, "b", "N", 0, 1007, "int4in"),
    (24, "regproc", 4, True, "b", "N", 0, 1008, "regprocin"),
    (25, "text", -1, False, "b", "S", 0, 1009, "textin"),
    (26, "oid", 4, True, "b", "N", 0, 1028, "oidin"),
    (27, "tid", 6, False, "b", "U", 0, 1010, "tidin"),
    (28, "xid", 4, True, "b", "U", 0, 1011, "xidin"),
    (29, "cid", 4, True, "b", "U", 0, 1012, "cidin"),
    (114, "json", -1, False, "b", "U", 0, 199, "json_in"),
    (700, "float4", 4, True, "b", "N", 0, 1021, "float4in"),
    (701, "float8", 8, True, "b", "N", 0, 1022, "float8in"),
    (705, "unknown", -2, False, "p", "X", 0, 0, "unknownin"),
    (1042, "bpchar", -1, False, "b", "S", 0, 1014, "bpcharin"),
    (1043, "varchar", -1, False, "b", "S", 0, 1015, "varcharin"),
    (1082, "date", 4, True, "b", "D", 0, 1182, "date_in"),
    (1083, "time", 8, True, "b", "D", 0, 1183, "time_in"),
    (1114, "timestamp", 8, True, "b", "D", 0, 1115, "timestamp_in"),
    (1184, "timestamptz", 8, True, "b", "D", 0, 1185, "timestamptz_in"),
    (1186, "interval", 16, False, "b", "T", 0, 1187, "interval_in"),
    (1700, "numeric", -1, False, "b", "N", 0, 1231, "numeric_in"),
    (2205, "regclass", 4, True, "b", "N", 0, 2210, "regclassin"),
    (2206, "regtype", 4, True, "b", "N", 0, 2211, "regtypein"),
    (2950, "uuid", 16, False, "b", "U", 0, 2951, "uuid_in"),
    (3802, "jsonb", -1, False, "b", "U", 0, 3807, "jsonb_in"),
    (2249, "record", -1, False, "p", "P", 0, 2287, "record_in"),
    (1000, "_bool", -1, False, "b", "A", 16, 0, "array_in"),
    (1001, "_bytea", -1, False, "b", "A", 17, 0, "array_in"),
    (1005, "_int2", -1, False, "b", "A", 21, 0, "array_in"),
    (1007, "_int4", -1, False, "b", "A", 23, 0, "array_in"),
    (1009, "_text", -1, False, "b", "A", 25, 0, "array_in"),
    (1015, "_varchar", -1, False, "b", "A", 1043, 0, "array_in"),
    (1016, "_int8", -1, False, "b", "A", 20, 0, "array_in"),
    (1021, "_float4", -1, False, "b", "A", 700, 0, "array_in"),
    (1022, "_float8", -1, False, "b", "A", 701, 0, "array_in"),
    (1028, "_oid", -1, False, "b", "A", 26, 0, "array_in"),
    (1115, "_timestamp", -1, False, "b", "A", 1114, 0, "array_in"),
    (1182, "_date", -1, False, "b", "A", 1082, 0, "array_in"),
    (1183, "_time", -1, False, "b", "A", 1083, 0, "array_in"),
    (1185, "_timestamptz", -1, False, "b", "A", 1184, 0, "array_in"),
    (1187, "_interval", -1, False, "b", "A", 1186, 0, "array_in"),
    (1231, "_numeric", -1, False, "b", "A", 1700, 0, "array_in"),
    (2951, "_uuid", -1, False, "b", "A", 2950, 0, "array_in"),
    (3807, "_jsonb", -1, False, "b", "A", 3802, 0, "array_in"),
    (199, "_json", -1, False, "b", "A", 114, 0, "array_in"),
]

#: Server settings clients read from pg_settings (name, setting, unit, vartype), besides the session's.
SETTINGS: list[tuple[str, str, str | None, str]] = [
    ("max_index_keys", "32", None, "integer"),
    ("max_identifier_length", "63", None, "integer"),
    ("max_connections", "64", None, "integer"),
    ("block_size", "8192", None, "integer"),
    ("server_version", "15.0", None, "string"),
    ("server_version_num", "150000", None, "integer"),
    ("default_table_access_method", "heap", None, "string"),
    ("data_checksums", "off", None, "bool"),
    ("ssl", "on", None, "bool"),
]


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def types_values() -> str:
    """A VALUES list of :data:`TYPES`."""
    return ", ".join("(" + ", ".join(_literal(v) for v in row) + ")" for row in TYPES)


def settings_values() -> str:
    """A VALUES list of (name, setting, unit, vartype): the session defaults and :data:`SETTINGS`."""
    rows: dict[str, tuple[str, str, str | None, str]] = {
        name: (name, value, None, "string") for name, value in DEFAULTS.items() if "." not in name
    }
    rows.update({row[0]: row for row in SETTINGS})
    return ", ".join("(" + ", ".join(_literal(v) for v in row) + ")" for row in rows.values())
