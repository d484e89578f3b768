"""The PostgreSQL types of catalog columns the engine keeps otherwise: ``name``, ``"char"``, ``int2vector``.

PostgreSQL sends ``pg_class.relname``, ``pg_namespace.nspname``, information_schema's identifiers
and ``current_user`` as its ``name`` type (OID 19), and one-letter codes such as ``relkind`` as
``"char"`` (18). The engine has neither type, so they would leave as ``text`` (25), and clients
that read type OIDs (DBeaver, Metabase's sync, pgjdbc's ``getColumnTypeName``) would see another
type than PostgreSQL's. A statement's result columns are announced as PostgreSQL announces them
when they are such a catalog column (named so, or aliased, in a statement that reads the catalog)
or one of the session functions; only the announced type changes, not the values (pgwire writes
an int2vector such as ``pg_index.indkey`` as PostgreSQL does, ``1 2``, where an array is ``{1,2}``).
"""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from hexmesh.pgwire import PG_OID_METADATA_KEY, Oid
from hexmesh.product.sql.pgcatalog import SHIM_SCHEMA

__all__ = ["catalog_typed"]

#: Catalog columns of type name (PostgreSQL 15), information_schema's sql_identifier columns among them.
NAME_COLUMNS = frozenset(
    {
        "relname",
        "nspname",
        "attname",
        "typname",
        "datname",
        "conname",
        "rolname",
        "proname",
        "usename",
        "schemaname",
        "tablename",
        "viewname",
        "indexname",
        "matviewname",
        "lanname",
        "collname",
        "amname",
        "spcname",
        "extname",
        "tgname",
        "evtname",
        "polname",
        "sequencename",
        "table_catalog",
        "table_schema",
        "table_name",
        "column_name",
        "udt_catalog",
        "udt_schema",
        "udt_name",
        "constraint_catalog",
        "constraint_schema",
        "constraint_name",
        "catalog_name",
        "schema_name",
        "schema_owner",
        "routine_schema",
        "routine_name",
        "specific_schema",
        "specific_name",
        "grantor",
        "grantee",
        "privilege_type",
    }
)
#: Catalog columns of type "char".
CHAR_COLUMNS = frozenset(
    {
        "relkind",
        "relpersistence",
        "relreplident",
        "contype",
        "confupdtype",
        "confdeltype",
        "confmatchtype",
        "typtype",
        "typcategory",
        "typdelim",
        "typalign",
        "typstorage",
        "attalign",
        "attstorage",
        "attidentity",
        "attgenerated",
        "attcompression",
        "prokind",
        "provolatile",
        "proparallel",
        "datlocprovider",
        "collprovider",
        "polcmd",
        "deptype",
    }
)
#: Session functions that answer a name, by the column name PostgreSQL gives them.
_FUNCTIONS = {
    exp.CurrentUser: "current_user",
    exp.SessionUser: "session_user",
    exp.CurrentSchema: "current_schema",
    exp.CurrentDatabase: "current_database",
}
#: Catalog columns of type int2vector (an int2 array to the engine).
VECTOR_COLUMNS = frozenset({"indkey"})
_VECTOR = {PG_OID_METADATA_KEY: str(Oid.INT2VECTOR).encode()}
_NAME = {PG_OID_METADATA_KEY: str(Oid.NAME).encode()}
_CHAR = {PG_OID_METADATA_KEY: str(Oid.CHAR).encode()}


def catalog_typed(schema: pa.Schema, tree: exp.Expr) -> pa.Schema:
    """``schema`` with its catalog name and "char" columns announced as PostgreSQL announces them."""
    select = tree
    while isinstance(select, exp.SetOperation):  # a UNION's columns are its first branch's
        select = select.this
    if not isinstance(select, exp.Select):
        return schema
    catalog = any(_in_catalog(table) for table in tree.find_all(exp.Table))
    typed: dict[str, dict[bytes, bytes]] = {}
    star = False
    for projection in select.expressions:
        inner = projection.unalias()
        function = next((name for kind, name in _FUNCTIONS.items() if isinstance(inner, kind)), None)
        if function is not None:
            typed[projection.alias or function] = _NAME
        elif isinstance(inner, exp.Star) or (isinstance(inner, exp.Column) and isinstance(inner.this, exp.Star)):
            star = True
        elif catalog and isinstance(inner, exp.Column) and (kind := _column_kind(inner, select)) is not None:
            typed[projection.alias_or_name] = kind
    fields = []
    for field in schema:
        kind = typed.get(field.name)
        if kind is None and star and catalog:
            kind = _column_kind(exp.column(field.name), select)
        same_type = pa.types.is_list(field.type) if kind is _VECTOR else pa.types.is_string(field.type)
        same_type = same_type or (kind is not _VECTOR and pa.types.is_large_string(field.type))
        fields.append(field.with_metadata({**(field.metadata or {}), **kind}) if kind and same_type else field)
    return pa.schema(fields, metadata=schema.metadata)


def _column_kind(column: exp.Column, select: exp.Select, depth: int = 0) -> dict[bytes, bytes] | None:
    """A catalog column's type, followed through the derived tables, CTEs and UNIONs of ``select`` that define it."""
    inner = _defining_query(column, select)
    while isinstance(inner, exp.SetOperation):  # a UNION's columns are its first branch's
        inner = inner.this
    if isinstance(inner, exp.Select) and depth < 8:
        for projection in inner.expressions:
            if projection.alias_or_name == column.name and isinstance(projection.unalias(), exp.Column):
                return _column_kind(projection.unalias(), inner, depth + 1)
        if any(isinstance(p, exp.Star) or isinstance(p.this, exp.Star) for p in inner.expressions):
            return _column_kind(exp.column(column.name), inner, depth + 1)
        return None
    return _column_type(column.name)


def _defining_query(column: exp.Column, select: exp.Select) -> exp.Expr | None:
    """The query that defines ``column`` when it is read from a derived table or a CTE, else None."""
    first = select.args.get("from_") or select.args.get("from")
    items = [first.this] if isinstance(first, exp.From) else []
    items += [join.this for join in select.args.get("joins") or []]
    if column.table:
        items = [item for item in items if item.alias_or_name == column.table]
    if len(items) != 1:
        return None
    item = items[0]
    if isinstance(item, exp.Subquery):
        query: exp.Expr = item.this
        return query
    if isinstance(item, exp.Table) and not item.db:
        name = item.name.lower()
        return next((cte.this for cte in select.root().find_all(exp.CTE) if cte.alias_or_name.lower() == name), None)
    return None


def _column_type(name: str) -> dict[bytes, bytes] | None:
    lowered = name.lower()
    if lowered in VECTOR_COLUMNS:
        return _VECTOR
    return _NAME if lowered in NAME_COLUMNS else _CHAR if lowered in CHAR_COLUMNS else None


def _in_catalog(table: exp.Table) -> bool:
    # The statement's catalog relations are its shims by now (pgcatalog.SHIM_SCHEMA).
    schema = table.db.lower()
    return schema in ("pg_catalog", "information_schema", SHIM_SCHEMA) or (
        not schema and table.name.lower().startswith("pg_")
    )
