"""PostgreSQL catalog shims on top of DuckDB's own pg_catalog views.

DuckDB ships pg_class, pg_namespace, pg_attribute, pg_type... with most columns PostgreSQL
clients read; what is missing here are a few functions and columns psql, pgjdbc, psqlODBC and
SQLAlchemy use. Macros live in the session database's main schema, where DuckDB finds
unqualified functions (the dialect rewrite drops ``pg_catalog.`` from calls).
"""

from __future__ import annotations

import duckdb

from hexmesh.product.sql.extract import EPOCH_MACRO
from hexmesh.product.sql.jsonagg import MACROS as _JSON_MACROS
from hexmesh.product.sql.pgtypes import settings_values, types_values
from hexmesh.product.sql.quotient import MACROS as _QUOTIENT_MACROS

__all__ = ["SHIMS", "SHIM_SCHEMA", "TYPMODS", "install_pg_catalog", "shim_name"]

#: Where the shims live; catalog references are rewritten to it, and catalog views hide it.
SHIM_SCHEMA = "hexmesh_pg"
# Schemas of the engine, not of the mesh: listed by neither \\dn nor information_schema.schemata.
_ENGINE_SCHEMAS = f"('{SHIM_SCHEMA}', 'main')"
# An index relation's oid for a primary key: DuckDB has constraints, not index relations.
_INDEX_OID = "(1000000000 + table_oid * 16 + constraint_index)::BIGINT"

# Relations of the mesh's schemas in information_schema: not a statement's sources (catalog temp).
_MESH_ONLY = f"table_catalog NOT IN ('temp', 'system') AND table_schema NOT IN {_ENGINE_SCHEMAS}"

# DuckDB's pg_attribute.atttypid holds DuckDB's own type ids; clients join it to pg_type by
# PostgreSQL OID, so the view puts the PostgreSQL OID there (and numeric's typmod).
_PG_OIDS = {
    "BIGINT": 20, "INTEGER": 23, "SMALLINT": 21, "TINYINT": 21, "VARCHAR": 1043, "DOUBLE": 701,
    "FLOAT": 700, "BOOLEAN": 16, "DATE": 1082, "TIME": 1083, "TIMESTAMP": 1114,
    "TIMESTAMP WITH TIME ZONE": 1184, "BLOB": 17, "UUID": 2950, "JSON": 114, "INTERVAL": 1186,
    "DECIMAL": 1700, "HUGEINT": 1700, "UBIGINT": 1700, "UINTEGER": 20, "USMALLINT": 23,
}  # fmt: skip
_TYPE_CASE = " ".join(f"WHEN '{name}' THEN {oid}" for name, oid in _PG_OIDS.items())
_ARRAY_CASE = " ".join(
    f"WHEN '{name}[]' THEN {array}"
    for name, array in {"BIGINT": 1016, "INTEGER": 1007, "VARCHAR": 1015, "DOUBLE": 1022, "BOOLEAN": 1000}.items()
)
#: Typmods the engine does not keep: varchar(n) of a string field with a maxLength (n + 4, as in
#: PostgreSQL), one row per column of the database's tables (sql/databases.py fills it).
TYPMODS = f"{SHIM_SCHEMA}.hexmesh_typmods"
_TYPMODS_TABLE = (
    f"CREATE TABLE {TYPMODS} (schema_name VARCHAR, table_name VARCHAR, column_name VARCHAR, typmod INTEGER)"
)
_ATTRIBUTES = (
    # attnum is an int2 in PostgreSQL (DuckDB's is an INTEGER).
    "SELECT a.* REPLACE (coalesce(m.pg_oid, a.atttypid) AS atttypid, coalesce(m.pg_typmod, -1) AS atttypmod, "
    "a.attnum::SMALLINT AS attnum) "
    "FROM pg_catalog.pg_attribute a LEFT JOIN (SELECT d.table_oid, d.column_index, "
    f"CASE d.data_type {_ARRAY_CASE} ELSE CASE split_part(d.data_type, '(', 1) {_TYPE_CASE} ELSE 25 END END AS pg_oid, "
    "CASE WHEN d.data_type LIKE 'DECIMAL(%' THEN ((d.numeric_precision << 16) | d.numeric_scale) + 4 "
    f"ELSE x.typmod END AS pg_typmod FROM duckdb_columns() d LEFT JOIN {TYPMODS} x "
    "ON x.schema_name = d.schema_name AND x.table_name = d.table_name AND x.column_name = d.column_name) m "
    "ON a.attrelid = m.table_oid AND a.attnum = m.column_index "
    # and a table's system columns, numbered below zero as PostgreSQL lists them (DBeaver's column
    # query does not filter them out): each a copy of the table's first column with its own name and type.
    "UNION ALL SELECT a.* REPLACE (s.attname AS attname, s.atttypid::BIGINT AS atttypid, -1 AS atttypmod, "
    "s.attnum::SMALLINT AS attnum, true AS attnotnull, false AS atthasdef) FROM pg_catalog.pg_attribute a, "
    "(VALUES ('tableoid', 26, -6), ('cmax', 29, -5), ('xmax', 28, -4), ('cmin', 29, -3), ('xmin', 28, -2), "
    "('ctid', 27, -1)) s(attname, atttypid, attnum) WHERE a.attnum = 1 "
    "AND a.attrelid IN (SELECT oid FROM pg_catalog.pg_class WHERE relkind = 'r')"
)
# information_schema.columns in PostgreSQL's words: data_type and udt_name by PostgreSQL's type names.
_INFORMATION_TYPES = {
    "BIGINT": ("bigint", "int8"), "INTEGER": ("integer", "int4"), "SMALLINT": ("smallint", "int2"),
    "TINYINT": ("smallint", "int2"), "VARCHAR": ("character varying", "varchar"),
    "DOUBLE": ("double precision", "float8"), "FLOAT": ("real", "float4"), "BOOLEAN": ("boolean", "bool"),
    "DATE": ("date", "date"), "TIME": ("time without time zone", "time"),
    "TIMESTAMP": ("timestamp without time zone", "timestamp"),
    "TIMESTAMP WITH TIME ZONE": ("timestamp with time zone", "timestamptz"), "BLOB": ("bytea", "bytea"),
    "UUID": ("uuid", "uuid"), "JSON": ("json", "json"), "INTERVAL": ("interval", "interval"),
    "DECIMAL": ("numeric", "numeric"), "HUGEINT": ("numeric", "numeric"),
}  # fmt: skip


def _information_type(column: str, which: int) -> str:
    base = "split_part(replace(c.data_type, '[]', ''), '(', 1)"
    cases = " ".join(f"WHEN '{duck}' THEN '{names[which]}'" for duck, names in _INFORMATION_TYPES.items())
    plain = f"CASE {base} {cases} ELSE lower({base}) END"
    array = "'ARRAY'" if which == 0 else f"'_' || {plain}"
    return f"CASE WHEN c.data_type LIKE '%[]' THEN {array} ELSE {plain} END AS {column}"


_COLUMNS = (
    f"SELECT c.* REPLACE ({_information_type('data_type', 0)}, {_information_type('udt_name', 1)}, "
    "coalesce(c.character_maximum_length, x.typmod - 4) AS character_maximum_length, "
    # The types are PostgreSQL's built-in ones, and no column is an identity (Metabase's sync reads both).
    "'pg_catalog' AS udt_schema, 'NO' AS is_identity, "
    # PostgreSQL gives floating-point types a binary precision and no scale.
    "CASE WHEN c.data_type IN ('DOUBLE', 'FLOAT') THEN NULL ELSE c.numeric_scale END AS numeric_scale) "
    f"FROM information_schema.columns c LEFT JOIN {TYPMODS} x ON x.schema_name = c.table_schema "
    "AND x.table_name = c.table_name AND x.column_name = c.column_name "
    f"WHERE c.table_catalog NOT IN ('temp', 'system') AND c.table_schema NOT IN {_ENGINE_SCHEMAS}"
)

# Views over DuckDB's catalog: hide the shim schema, add columns clients read.
_VIEWS = {
    # The schemas are the product domains: not DuckDB's main (it holds no tables) nor the shims,
    # but pg_catalog and information_schema as in PostgreSQL (clients join pg_type to them).
    ("pg_catalog", "pg_namespace"): f"SELECT * FROM pg_catalog.pg_namespace WHERE nspname NOT IN {_ENGINE_SCHEMAS} "
    "UNION ALL SELECT oid, schema_name AS nspname, 10::INTEGER AS nspowner, NULL AS nspacl FROM duckdb_schemas() "
    "WHERE database_name = 'system' AND schema_name IN ('pg_catalog', 'information_schema')",
    (
        "pg_catalog",
        "pg_class",
    ): "SELECT * REPLACE (CAST(reloptions AS VARCHAR[]) AS reloptions), false AS relforcerowsecurity "
    # Only the mesh's schemas and PostgreSQL's: not the engine's views, nor a statement's sources.
    f"FROM pg_catalog.pg_class WHERE relnamespace IN (SELECT oid FROM {SHIM_SCHEMA}.pg_namespace) "
    # and each primary key's index, as PostgreSQL lists it.
    f"UNION ALL SELECT c.* REPLACE ({_INDEX_OID} AS oid, c.relname || '_pkey' AS relname, 'i' AS relkind, "
    "403::BIGINT AS relam, CAST(c.reloptions AS VARCHAR[]) AS reloptions), false AS relforcerowsecurity "
    "FROM pg_catalog.pg_class c JOIN duckdb_constraints() k ON k.table_oid = c.oid "
    "WHERE k.constraint_type = 'PRIMARY KEY' AND k.database_name NOT IN ('temp', 'system')",
    ("pg_catalog", "pg_attribute"): _ATTRIBUTES,
    # PostgreSQL's own comment on pg_catalog (DBeaver shows it in its navigator).
    ("pg_catalog", "pg_description"): "SELECT * FROM pg_catalog.pg_description UNION ALL SELECT n.oid AS objoid, "
    "hexmesh_regclass('pg_namespace')::VARCHAR AS classoid, 0 AS objsubid, 'system catalog schema' AS description "
    f"FROM {SHIM_SCHEMA}.pg_namespace n WHERE n.nspname = 'pg_catalog'",
    # The database a client connected to is the one there is (DuckDB's is "memory").
    (
        "pg_catalog",
        "pg_database",
    ): "SELECT * REPLACE (getvariable('hexmesh_database') AS datname), 0::BIGINT AS datdba, 6 AS encoding, "
    "'C' AS datcollate, "
    "'C' AS datctype, NULL::VARCHAR AS daticulocale, 'c' AS datlocprovider, NULL::VARCHAR[] AS datacl, "
    "-1 AS datconnlimit, 0::BIGINT AS dattablespace FROM pg_catalog.pg_database "
    "WHERE datname NOT IN ('system', 'temp')",
    # The engine's functions with PostgreSQL's columns: types as oids (the engine keeps names), in the
    # language of built-in functions.
    ("pg_catalog", "pg_proc"): "SELECT * REPLACE (hexmesh_type_oid(prorettype) AS prorettype, "
    "list_transform(proargtypes, lambda t: hexmesh_type_oid(t)) AS proargtypes, "
    "NULL::BIGINT[] AS proallargtypes, 12::BIGINT AS prolang) FROM pg_catalog.pg_proc",
    # The languages of PostgreSQL's built-in functions (pgcli's completion joins them).
    ("pg_catalog", "pg_language"): "SELECT * FROM (VALUES (12::BIGINT, 'internal', 10::BIGINT, false, false), "
    "(13::BIGINT, 'c', 10::BIGINT, false, false), (14::BIGINT, 'sql', 10::BIGINT, false, true)) "
    "AS l(oid, lanname, lanowner, lanispl, lanpltrusted)",
    ("pg_catalog", "pg_tables"): f"SELECT * FROM pg_catalog.pg_tables WHERE schemaname NOT IN {_ENGINE_SCHEMAS}",
    (
        "pg_catalog",
        "pg_views",
    ): "SELECT * FROM pg_catalog.pg_views WHERE schemaname IN ('pg_catalog', 'information_schema')",
    ("pg_catalog", "pg_roles"): "SELECT 10::BIGINT AS oid, 'hexmesh' AS rolname, false AS rolsuper, "
    "true AS rolinherit, false AS rolcreaterole, false AS rolcreatedb, true AS rolcanlogin, "
    "false AS rolreplication, -1 AS rolconnlimit, NULL::TIMESTAMP AS rolvaliduntil, false AS rolbypassrls, "
    "NULL::VARCHAR[] AS rolconfig",
    ("pg_catalog", "pg_collation"): "SELECT *, 11::BIGINT AS collnamespace, 10::BIGINT AS collowner, "
    "'d' AS collprovider, true AS collisdeterministic, -1 AS collencoding FROM pg_catalog.pg_collation",
    # Primary keys as PostgreSQL shows them: an index relation (pg_class, relkind 'i', btree) and a
    # pg_index row with 1-based indkey; DuckDB keeps them as constraints only.
    ("pg_catalog", "pg_index"): f"SELECT {_INDEX_OID} AS indexrelid, table_oid AS indrelid, "
    "len(constraint_column_indexes)::SMALLINT AS indnatts, len(constraint_column_indexes)::SMALLINT AS indnkeyatts, "
    "true AS indisunique, true AS indisprimary, false AS indisexclusion, true AS indimmediate, "
    "false AS indisclustered, true AS indisvalid, false AS indcheckxmin, true AS indisready, true AS indislive, "
    "false AS indisreplident, list_transform(constraint_column_indexes, lambda k: (k + 1)::SMALLINT) AS indkey, "
    "list_transform(constraint_column_indexes, lambda k: 0::BIGINT) AS indcollation, "
    "list_transform(constraint_column_indexes, lambda k: 0::BIGINT) AS indclass, "
    "list_transform(constraint_column_indexes, lambda k: 0::SMALLINT) AS indoption, NULL::VARCHAR AS indexprs, "
    "NULL::VARCHAR AS indpred, false AS indnullsnotdistinct "
    "FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY' AND database_name NOT IN ('temp', 'system')",
    ("pg_catalog", "pg_constraint"): "SELECT c.* REPLACE (list_transform(c.conkey, lambda k: k + 1) AS conkey, "
    "CASE WHEN c.contype = 'p' THEN t.relname || '_pkey' ELSE c.conname END AS conname, "
    f"CASE WHEN c.contype = 'p' THEN {_INDEX_OID.replace('table_oid', 'k.table_oid')} ELSE 0 END AS conindid) "
    "FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_class t ON t.oid = c.conrelid "
    "LEFT JOIN duckdb_constraints() k ON k.table_oid = c.conrelid AND k.constraint_type = 'PRIMARY KEY' "
    "AND c.contype = 'p' WHERE c.contype <> 'x'",
    ("pg_catalog", "pg_am"): "SELECT 403::BIGINT AS oid, 'btree' AS amname, 'i' AS amtype, NULL AS amhandler",
    ("pg_catalog", "pg_type"): "SELECT oid::BIGINT AS oid, typname, (SELECT oid FROM duckdb_schemas() "
    "WHERE database_name = 'system' AND schema_name = 'pg_catalog') AS typnamespace, 10::BIGINT AS typowner, "
    "typlen::SMALLINT AS typlen, typbyval, typtype, typcategory, false AS typispreferred, true AS typisdefined, "
    "',' AS typdelim, 0::BIGINT AS typrelid, typelem::BIGINT AS typelem, typarray::BIGINT AS typarray, typinput, "
    "replace(typinput, 'in', 'out') AS typoutput, 0::BIGINT AS typbasetype, -1 AS typtypmod, false AS typnotnull, "
    "0 AS typndims, 0::BIGINT AS typcollation, NULL::VARCHAR AS typdefault, 'i' AS typalign, 'p' AS typstorage "
    f"FROM (VALUES {types_values()}) t(oid, typname, typlen, typbyval, typtype, typcategory, typelem, typarray, "
    "typinput)",
    ("pg_catalog", "pg_settings"): "SELECT name, setting, unit, 'Client Connection Defaults' AS category, "
    "'' AS short_desc, NULL AS extra_desc, 'user' AS context, vartype, 'default' AS source, NULL AS min_val, "
    "NULL AS max_val, NULL::VARCHAR[] AS enumvals, setting AS boot_val, setting AS reset_val, NULL AS sourcefile, "
    f"NULL::INTEGER AS sourceline, false AS pending_restart FROM (VALUES {settings_values()}) s(name, setting, unit, "
    "vartype)",
    ("pg_catalog", "pg_timezone_names"): "SELECT * FROM pg_timezone_names()",
    ("pg_catalog", "pg_user"): "SELECT 'hexmesh' AS usename, 10::BIGINT AS usesysid, false AS usesuper",
    ("information_schema", "schemata"): f"SELECT * FROM information_schema.schemata "
    f"WHERE schema_name NOT IN {_ENGINE_SCHEMAS}",
    ("information_schema", "tables"): f"SELECT * FROM information_schema.tables WHERE {_MESH_ONLY}",
    ("information_schema", "columns"): _COLUMNS,
    ("information_schema", "views"): f"SELECT * FROM information_schema.views WHERE {_MESH_ONLY}",
}
# Catalogs DuckDB lacks; always empty here (no inheritance, policies, triggers, publications).
_EMPTY = {
    "pg_inherits": "inhrelid BIGINT, inhparent BIGINT, inhseqno INT, inhdetachpending BOOLEAN",
    "pg_policy": "oid BIGINT, polname VARCHAR, polrelid BIGINT, polcmd VARCHAR, polpermissive BOOLEAN, "
    "polroles BIGINT[], polqual VARCHAR, polwithcheck VARCHAR",
    "pg_statistic_ext": "oid BIGINT, stxrelid BIGINT, stxname VARCHAR, stxnamespace BIGINT, stxowner BIGINT, "
    "stxstattarget INT, stxkeys INT[], stxkind VARCHAR[], stxexprs VARCHAR",
    "pg_publication": "oid BIGINT, pubname VARCHAR, puballtables BOOLEAN, pubinsert BOOLEAN, pubupdate BOOLEAN, "
    "pubdelete BOOLEAN, pubtruncate BOOLEAN, pubviaroot BOOLEAN",
    "pg_publication_rel": "oid BIGINT, prpubid BIGINT, prrelid BIGINT, prqual VARCHAR, prattrs INT[]",
    "pg_publication_namespace": "oid BIGINT, pnpubid BIGINT, pnnspid BIGINT",
    "pg_trigger": "oid BIGINT, tgrelid BIGINT, tgparentid BIGINT, tgname VARCHAR, tgfoid BIGINT, tgtype INT, "
    "tgenabled VARCHAR, tgisinternal BOOLEAN, tgconstraint BIGINT",
    "pg_rewrite": "oid BIGINT, rulename VARCHAR, ev_class BIGINT, ev_type VARCHAR, ev_enabled VARCHAR, "
    "is_instead BOOLEAN",
    "pg_foreign_table": "ftrelid BIGINT, ftserver BIGINT, ftoptions VARCHAR[]",
    "pg_partitioned_table": "partrelid BIGINT, partstrat VARCHAR, partnatts INT",
    "pg_extension": "oid BIGINT, extname VARCHAR, extowner BIGINT, extnamespace BIGINT, extversion VARCHAR",
    "pg_auth_members": "roleid BIGINT, member BIGINT, grantor BIGINT, admin_option BOOLEAN",
    "pg_event_trigger": "oid BIGINT, evtname VARCHAR, evtevent VARCHAR",
    "pg_range": "rngtypid BIGINT, rngsubtype BIGINT",
    "pg_opclass": "oid BIGINT, opcmethod BIGINT, opcname VARCHAR, opcnamespace BIGINT, opcdefault BOOLEAN",
    "pg_matviews": "schemaname VARCHAR, matviewname VARCHAR, matviewowner VARCHAR, definition VARCHAR",
    "pg_stat_user_tables": "relid BIGINT, schemaname VARCHAR, relname VARCHAR, seq_scan BIGINT, n_live_tup BIGINT, "
    "n_dead_tup BIGINT, last_vacuum TIMESTAMPTZ, last_autovacuum TIMESTAMPTZ, last_analyze TIMESTAMPTZ, "
    "last_autoanalyze TIMESTAMPTZ",
    "pg_stat_all_tables": "relid BIGINT, schemaname VARCHAR, relname VARCHAR, seq_scan BIGINT, n_live_tup BIGINT",
    "pg_statio_user_tables": "relid BIGINT, schemaname VARCHAR, relname VARCHAR, heap_blks_read BIGINT",
    "pg_locks": "locktype VARCHAR, database BIGINT, relation BIGINT, pid INT, mode VARCHAR, granted BOOLEAN",
    "pg_shdescription": "objoid BIGINT, classoid BIGINT, description VARCHAR",
    "pg_stat_ssl": "pid INT, ssl BOOLEAN, version VARCHAR, cipher VARCHAR, bits INT, client_dn VARCHAR",
    "pg_prepared_statements": "name VARCHAR, statement VARCHAR, prepare_time TIMESTAMPTZ, parameter_types VARCHAR[], "
    "from_sql BOOLEAN",
    "pg_foreign_server": "oid BIGINT, srvname VARCHAR, srvowner BIGINT, srvfdw BIGINT",
    "pg_foreign_data_wrapper": "oid BIGINT, fdwname VARCHAR, fdwowner BIGINT",
    "pg_user_mappings": "umid BIGINT, srvid BIGINT, srvname VARCHAR, umuser BIGINT, usename VARCHAR",
    "pg_stat_activity": "datid BIGINT, datname VARCHAR, pid INT, usename VARCHAR, application_name VARCHAR, "
    "state VARCHAR, query VARCHAR",
}
#: Catalog relations a statement reads from the shim schema instead, keyed (schema, name).
SHIMS = {*_VIEWS, *(("pg_catalog", name) for name in _EMPTY)}

# avg() of an integer or numeric is numeric in PostgreSQL (the engine's is a double, so
# round(avg(total), 2) printed 5.8 and avg(1, 2, 4) 2.3333333333333335): the exact sum over the
# count, rounded half away from zero at 16 decimals (PostgreSQL's display scale when the sum's
# first 4-digit group exceeds the count's; a result column's avg shows PostgreSQL's scale per value,
# sql/quotient.py). Sums past 10^21 fall back to the engine's average, as a numeric.
# A macro parameter typed plain DECIMAL is DECIMAL(18, 3), which rounded numeric(10, 5) inputs to 3
# decimals: decimals come in as DECIMAL(38, 10) (exact for scales up to 10 and 28 integer digits),
# and their unscaled sum is built from its integer and fractional parts (x * 10^10 would overflow).
_HALF_UP = "* 2 + sign(sum(x)) * count(x)) // (2 * count(x)) AS DECIMAL(38, 0)) * 0.0000000000000001"
_FALLBACK = "ELSE CAST(avg(x) AS DECIMAL(38, 16)) END"
_EXACT_AVG = (
    "CASE WHEN abs(sum(x)) < 1000000000000000000000 THEN CAST(((sum(x) * 10000000000000000)::HUGEINT "
    f"{_HALF_UP} {_FALLBACK}"
)
_EXACT_DECIMAL_AVG = (
    "CASE WHEN abs(sum(x)) < 1000000000000000000000 THEN CAST(((trunc(sum(x))::HUGEINT * 10000000000 "
    "+ ((sum(x) - trunc(sum(x))) * 10000000000)::HUGEINT) * 1000000 "
    f"{_HALF_UP} {_FALLBACK}"
)
_EXACT_AVG_TYPES = ("HUGEINT", "BIGINT", "INTEGER", "SMALLINT", "TINYINT")
_MACROS = [
    f"hexmesh_avg(x DECIMAL(38, 10)) AS {_EXACT_DECIMAL_AVG}, "
    + ", ".join(f"(x {kind}) AS {_EXACT_AVG}" for kind in _EXACT_AVG_TYPES)
    + ", (x) AS avg(x)",
    EPOCH_MACRO,
    "hexmesh_octet_length(x VARCHAR) AS strlen(x), (x BLOB) AS octet_length(x)",
    "pg_get_userbyid(oid) AS 'hexmesh'",
    "pg_encoding_to_char(enc) AS 'UTF8'",
    # The n-th column of a primary key's index (n > 0), or the index's definition (n = 0).
    "pg_get_indexdef(a := 0, b := 0, c := false) AS (SELECT CASE WHEN b > 0 "
    "THEN '\"' || constraint_column_names[b] || '\"' "
    "ELSE 'CREATE UNIQUE INDEX ' || table_name || '_pkey ON ' || schema_name || '.' || table_name || ' USING btree (' "
    "|| array_to_string(constraint_column_names, ', ') || ')' END FROM duckdb_constraints() "
    f"WHERE {_INDEX_OID} = a AND constraint_type = 'PRIMARY KEY')",
    "pg_get_statisticsobjdef_columns(oid) AS ''",
    "pg_relation_is_publishable(oid) AS false",
    "pg_get_partkeydef(oid) AS NULL",
    "pg_get_triggerdef(a := 0, b := false) AS ''",
    "pg_get_function_result(oid) AS ''",
    "pg_get_function_arguments(oid) AS ''",
    "pg_get_function_identity_arguments(oid) AS ''",
    "pg_total_relation_size(oid) AS 0",
    "pg_relation_size(oid) AS 0",
    "pg_stat_get_numscans(oid) AS 0::BIGINT",
    "pg_table_size(oid) AS 0",
    "pg_indexes_size(oid) AS 0",
    "pg_backend_pid() AS 0",
    "pg_is_in_recovery() AS false",
    "pg_postmaster_start_time() AS TIMESTAMPTZ '2026-01-01 00:00:00+00'",
    "pg_get_keywords() AS NULL",
    "has_table_privilege(a := NULL, b := NULL, c := NULL) AS true",
    "has_schema_privilege(a := NULL, b := NULL, c := NULL) AS true",
    "has_database_privilege(a := NULL, b := NULL, c := NULL) AS true",
    "pg_tablespace_location(oid) AS ''",
    "hexmesh_expandarray(arr) AS list_transform(range(1, len(arr) + 1), lambda i: {'x': arr[i], 'n': i})",
    "hexmesh_expandarray_n(arr) AS range(1, len(arr) + 1)",
    "array_upper(arr, dim) AS len(arr)",
    "hexmesh_pg_get_expr(expr, rel, pretty) AS pg_get_expr(expr, rel)",
    "hexmesh_pg_get_constraintdef(con, pretty) AS pg_get_constraintdef(con)",
    "hexmesh_pg_get_viewdef(view, pretty) AS pg_get_viewdef(view)",
    # PostgreSQL settings clients read with current_setting(): the session's (SET, its defaults), then
    # the server's; DuckDB's own ones are not theirs.
    "hexmesh_current_setting(name, missing_ok := false) AS coalesce(getvariable('hexmesh_settings')[lower(name)], "
    "CASE lower(name) "
    "WHEN 'default_table_access_method' THEN 'heap' WHEN 'server_version_num' THEN '150000' "
    "WHEN 'server_version' THEN '15.0' WHEN 'search_path' THEN 'public' WHEN 'timezone' THEN 'UTC' "
    "WHEN 'max_identifier_length' THEN '63' WHEN 'standard_conforming_strings' THEN 'on' "
    "WHEN 'client_encoding' THEN 'UTF8' WHEN 'datestyle' THEN 'ISO, MDY' ELSE NULL END)",
    # format_type over PostgreSQL OIDs (the pg_attribute view's), in PostgreSQL's words, which
    # SQLAlchemy's reflection maps to types.
    "hexmesh_type_name(t) AS CASE t WHEN 20 THEN 'bigint' WHEN 23 THEN 'integer' "
    "WHEN 21 THEN 'smallint' WHEN 1043 THEN 'character varying' WHEN 25 THEN 'text' "
    "WHEN 701 THEN 'double precision' WHEN 700 THEN 'real' WHEN 16 THEN 'boolean' "
    "WHEN 1184 THEN 'timestamp with time zone' WHEN 1114 THEN 'timestamp without time zone' "
    "WHEN 1083 THEN 'time without time zone' WHEN 1082 THEN 'date' WHEN 17 THEN 'bytea' WHEN 2950 THEN 'uuid' "
    "WHEN 114 THEN 'json' WHEN 1186 THEN 'interval' WHEN 1016 THEN 'bigint[]' WHEN 1007 THEN 'integer[]' "
    "WHEN 1015 THEN 'character varying[]' WHEN 1022 THEN 'double precision[]' WHEN 1000 THEN 'boolean[]' "
    "WHEN 1700 THEN 'numeric' WHEN 2283 THEN 'anyelement' ELSE NULL END",
    "hexmesh_format_type(t, m) AS CASE WHEN t = 1700 AND m > 4 "
    "THEN printf('numeric(%d,%d)', (m - 4) >> 16, (m - 4) & 65535) "
    "WHEN t = 1043 AND m > 4 THEN printf('character varying(%d)', m - 4) "
    "ELSE coalesce(hexmesh_type_name(t), format_type(t, m)) END",
    "pg_get_serial_sequence(tbl, col) AS NULL::VARCHAR",
    # The PostgreSQL oid of an engine type's name (pg_proc); anyelement for what has none.
    "hexmesh_type_oid(name) AS CASE name WHEN 'BOOLEAN' THEN 16 WHEN 'TINYINT' THEN 21 WHEN 'SMALLINT' THEN 21 "
    "WHEN 'INTEGER' THEN 23 WHEN 'BIGINT' THEN 20 WHEN 'FLOAT' THEN 700 WHEN 'DOUBLE' THEN 701 "
    "WHEN 'DECIMAL' THEN 1700 WHEN 'HUGEINT' THEN 1700 WHEN 'VARCHAR' THEN 25 WHEN 'BLOB' THEN 17 "
    "WHEN 'DATE' THEN 1082 WHEN 'TIME' THEN 1083 WHEN 'TIMESTAMP' THEN 1114 "
    "WHEN 'TIMESTAMP WITH TIME ZONE' THEN 1184 WHEN 'INTERVAL' THEN 1186 WHEN 'UUID' THEN 2950 "
    "WHEN 'JSON' THEN 114 ELSE 2283 END::BIGINT",
    "to_regtype(name) AS (SELECT oid FROM pg_catalog.pg_type WHERE typname = name LIMIT 1)",
    "array_lower(arr, dim) AS 1",
    "txid_current() AS 0",
    "current_user_name() AS 'hexmesh'",
    "hexmesh_obj_description(o, catalog := NULL) AS "
    "(SELECT description FROM pg_catalog.pg_description WHERE objoid = o AND objsubid = 0 LIMIT 1)",
    "hexmesh_col_description(rel, num) AS "
    "(SELECT description FROM pg_catalog.pg_description WHERE objoid = rel AND objsubid = num LIMIT 1)",
    "hexmesh_regclass(x) AS coalesce(try_cast(x AS BIGINT), "
    "(SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relname = split_part(replace(x::VARCHAR, '\"', ''), '.', -1) "
    "AND (x::VARCHAR NOT LIKE '%.%' OR n.nspname = split_part(replace(x::VARCHAR, '\"', ''), '.', 1)) LIMIT 1))",
    "to_regclass(name) AS hexmesh_regclass(name)",
]


def install_pg_catalog(con: duckdb.DuckDBPyConnection) -> None:
    """Create the macros clients' catalog queries need and DuckDB lacks."""
    con.execute(_SCRIPT)


def _script() -> str:
    # One script, executed at once: every session creates these, so it must be quick.
    statements = [f"CREATE MACRO {macro}" for macro in [*_QUOTIENT_MACROS, *_JSON_MACROS, *_MACROS]]
    statements.append(f"CREATE SCHEMA {SHIM_SCHEMA}")
    statements.append(_TYPMODS_TABLE)
    for (schema, name), query in _VIEWS.items():
        prefix = "" if schema == "pg_catalog" else "is_"
        statements.append(f"CREATE VIEW {SHIM_SCHEMA}.{prefix}{name} AS {query}")
    statements += [f"CREATE TABLE {SHIM_SCHEMA}.{name} ({columns})" for name, columns in _EMPTY.items()]
    return ";\n".join(statements)


_SCRIPT = _script()


def shim_name(schema: str, name: str) -> str:
    """The shim relation standing in for a catalog relation."""
    return name if schema == "pg_catalog" else f"is_{name}"
