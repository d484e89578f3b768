"""Locked-down DuckDB databases laid out like the port catalog, shared by the SQL sessions.

Every port table exists in DuckDB as an *empty* table of the right schema, so that catalog
queries (pg_catalog, information_schema, psql's \\d) describe it; its rows are never stored
there. A query reads rows only through the Arrow source the session registers for it, on a
cursor of its own, after the policy step.

Building a database (tables, comments, catalog shims) takes ~50 ms, so one is built per
catalog state (the deployed port tables), catalog view (what a principal may see) and time zone
(DuckDB's TimeZone cannot change once the configuration is locked, and PostgreSQL computes
``ts::date`` and ``date_trunc`` in the session's zone), and every session with the same state,
view and zone gets a cursor of it. Cursors share nothing a
client can reach: registered sources are private to a cursor, SQL cannot change settings,
and the session answers SET itself.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Hashable, Mapping

import duckdb

from hexmesh.infra.compute.duckdb import LOCKDOWN
from hexmesh.pgwire import PgError
from hexmesh.product.sql.catalog import PortTable
from hexmesh.product.sql.pgcatalog import TYPMODS, install_pg_catalog
from hexmesh.product.sql.zones import engine_zone

__all__ = ["Databases", "catalog_key", "open_database"]

#: Hidden columns per ``schema.table`` (None: the whole table), as a CatalogFilter answers.
CatalogView = Mapping[str, frozenset[str] | None]


def catalog_key(tables: list[PortTable]) -> Hashable:
    """What identifies a catalog state: the port tables, their port records and spec versions."""
    return tuple((t.qualified, t.record.id, t.product.record.spec_hash) for t in tables)


def _view_key(view: CatalogView) -> Hashable:
    return tuple(sorted((name, None if hidden is None else tuple(sorted(hidden))) for name, hidden in view.items()))


class Databases:
    """The databases of one SQL port, by catalog state, view and zone; the newest few are kept.

    Each database is an engine of its own, with its own ``memory_limit``: so that clients cannot
    multiply the port's memory by setting many time zones, at most ``max_zones`` zones other than
    UTC are in use at once (by open sessions); a session asking for another gets 53000.
    """

    def __init__(
        self,
        *,
        memory_limit: str | None,
        threads: int | None,
        keep: int = 8,
        readable: str | None = None,
        max_zones: int = 4,
    ) -> None:
        self.memory_limit = memory_limit
        self.threads = threads
        self.readable = readable
        self.max_zones = max_zones
        self._keep = keep
        self._databases: OrderedDict[Hashable, duckdb.DuckDBPyConnection] = OrderedDict()
        self._zones: Counter[str] = Counter()  # sessions computing in each zone other than UTC
        self._lock = threading.Lock()

    def cursor(self, tables: list[PortTable], view: CatalogView, zone: str = "UTC") -> duckdb.DuckDBPyConnection:
        """A new connection (cursor) to the database of this catalog state, view and time zone
        (a canonical TimeZone setting, sql/zones.py).

        A dropped database stays open while cursors of it are: sessions that started on an
        older catalog state keep working until they end. The caller gives the zone back with
        :meth:`release` when its session ends or moves to another zone.
        """
        key = (catalog_key(tables), _view_key(view), zone)
        # One lock: many clients connecting at once wait for one build instead of each building.
        with self._lock:
            if zone != "UTC" and not self._zones[zone] and len(self._zones) >= self.max_zones:
                raise PgError(
                    "53000",
                    f"too many time zones in use on the SQL port (at most {self.max_zones} besides UTC): "
                    f'cannot compute in "{zone}"',
                    detail=f"Sessions compute in {', '.join(sorted(self._zones))} now; each zone costs an engine.",
                    hint="Use one of the zones in use, or UTC, or retry when those sessions have ended.",
                )
            con = self._databases.get(key)
            if con is None:
                con = open_database(
                    tables,
                    memory_limit=self.memory_limit,
                    threads=self.threads,
                    view=view,
                    readable=self.readable,
                    zone=zone,
                )
                self._databases[key] = con
                while len(self._databases) > self._keep:
                    self._databases.popitem(last=False)
            self._databases.move_to_end(key)
            if zone != "UTC":
                self._zones[zone] += 1
            return con.cursor()

    def release(self, zone: str) -> None:
        """A session computing in ``zone`` ended or moved to another zone."""
        with self._lock:
            if zone in self._zones:
                self._zones[zone] -= 1
                if self._zones[zone] <= 0:
                    del self._zones[zone]


def open_database(
    tables: list[PortTable],
    *,
    memory_limit: str | None,
    threads: int | None,
    view: CatalogView | None = None,
    readable: str | None = None,
    zone: str = "UTC",
) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory database with the port tables' shapes and the PostgreSQL catalog shims.

    ``view`` drops the tables and columns a principal may not see from the catalog.
    ``readable`` is the folder (the warehouse) whose Parquet files DuckDB may scan itself; only
    SQL the session builds names them (client SQL cannot call file functions: sql/vetted.py).
    ``zone`` (a canonical TimeZone setting) is the zone every cursor computes and parses times in.
    """
    config: dict[str, str | bool | int | float | list[str]] = {
        k: v for k, v in LOCKDOWN.items() if k not in ("lock_configuration", "enable_external_access")
    }
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = threads
    # PostgreSQL's arithmetic: 7 / 2 is 3 for integers, and 1 / 0 is an error (22012), not NULL.
    config["integer_division"] = True
    con = duckdb.connect(":memory:", config=config)
    if readable:
        # Must come before external access is switched off; it cannot be widened afterwards.
        con.execute(f"SET allowed_directories = [{_literal(readable)}]")
        # Parquet footers are read once per file, not once per statement (published files never change).
        con.execute("SET parquet_metadata_cache = true")
    con.execute("SET enable_external_access = false")
    # GLOBAL: every cursor of the database computes, prints and parses times in the sessions' zone.
    try:
        con.execute(f"SET GLOBAL TimeZone = {_literal(engine_zone(zone))}")
    except duckdb.Error:
        con.close()
        raise PgError(
            "22023",
            f'invalid value for parameter "TimeZone": "{zone}"',
            detail="The SQL engine's time zone database does not know this zone.",
            hint="Name another zone for the same place (see pg_timezone_names), or hours east of UTC (e.g. -7).",
        ) from None
    for schema in sorted({t.schema for t in tables}):
        con.execute(f'CREATE SCHEMA "{schema}"')
    for table in tables:
        con.register("hexmesh_shape", table.arrow_schema.empty_table())
        con.execute(f'CREATE TABLE "{table.schema}"."{table.name}" AS SELECT * FROM hexmesh_shape')
        con.unregister("hexmesh_shape")
        description = table.port.description or table.product.spec.description
        # Comments feed pg_description: psql's \dt+ and \d+, DBeaver and Metabase show them.
        con.execute(
            f'COMMENT ON TABLE "{table.schema}"."{table.name}" IS {_literal(f"{table.address}: {description}")}'
        )
        for field in table.port.properties:
            if field.description:
                target = f'"{table.schema}"."{table.name}"."{field.name}"'
                con.execute(f"COMMENT ON COLUMN {target} IS {_literal(field.description)}")
            # A restricted field reads as null once its subject is forgotten: never NOT NULL (served_schema).
            if field.required and table.arrow_schema.field(field.name).nullable is False:
                # Shown as NOT NULL by \d, information_schema and SQLAlchemy's reflection.
                con.execute(f'ALTER TABLE "{table.schema}"."{table.name}" ALTER COLUMN "{field.name}" SET NOT NULL')
    _restrict(con, tables, view or {})
    _primary_keys(con, tables, view or {})
    install_pg_catalog(con)
    _typmods(con, tables, view or {})
    # From here on SQL cannot change any setting, including the ones above.
    con.execute("SET lock_configuration = true")
    return con


def _restrict(con: duckdb.DuckDBPyConnection, tables: list[PortTable], view: CatalogView) -> None:
    """Drop what the principal may not see from the catalog tables (information_schema, \\d)."""
    by_name = {t.qualified: t for t in tables}
    for qualified, hidden in view.items():
        table = by_name.get(qualified)
        if table is None:
            continue
        target = f'"{table.schema}"."{table.name}"'
        if hidden is None or hidden >= set(table.arrow_schema.names):
            con.execute(f"DROP TABLE {target}")
            continue
        for column in sorted(hidden):
            con.execute(f'ALTER TABLE {target} DROP COLUMN "{column}"')


def _typmods(con: duckdb.DuckDBPyConnection, tables: list[PortTable], view: CatalogView) -> None:
    """varchar(n) of the string fields with a maxLength the principal may see (pg_attribute.atttypmod
    n + 4, ``\\d``'s ``character varying(n)``, information_schema's character_maximum_length)."""
    rows = []
    for table in tables:
        hidden = view.get(table.qualified, frozenset())
        if hidden is None:
            continue
        for field in table.port.properties:
            options = field.logical_type_options
            length = options.max_length if options is not None else None
            if length is not None and field.logical_type == "string" and field.name not in hidden:
                rows.append((table.schema, table.name, field.name, length + 4))
    if rows:
        con.executemany(f"INSERT INTO {TYPMODS} VALUES (?, ?, ?, ?)", rows)


def _primary_keys(con: duckdb.DuckDBPyConnection, tables: list[PortTable], view: CatalogView) -> None:
    """Declared primary keys, so that pg_index, pg_constraint and JDBC's getPrimaryKeys show them.

    Not when the principal may not see one of the key's columns (the key would name it).
    """
    for table in tables:
        keys = list(table.port.primary_key)
        hidden = view.get(table.qualified, frozenset())
        if not keys or hidden is None or set(keys) & hidden or not set(keys) <= set(table.arrow_schema.names):
            continue
        columns = ", ".join(f'"{k}"' for k in keys)
        con.execute(f'ALTER TABLE "{table.schema}"."{table.name}" ADD PRIMARY KEY ({columns})')


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
