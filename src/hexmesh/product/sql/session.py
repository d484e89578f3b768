"""SqlSession: the pgwire Session of one client, on a cursor of a shared, locked-down DuckDB."""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections.abc import Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
from sqlglot import exp

from hexmesh.errors import HexmeshError
from hexmesh.infra.state import from_us, now_us
from hexmesh.pgwire import Description, PgError, Result, RowsResult, SessionContext, SqlState
from hexmesh.product.deprecation import deprecated, notice_text
from hexmesh.product.sql.budget import Budget
from hexmesh.product.sql.catalog import PortTable
from hexmesh.product.sql.catalogtypes import catalog_typed
from hexmesh.product.sql.columntypes import column_typed
from hexmesh.product.sql.commands import QUERIES, SessionSettings, classify, run_command
from hexmesh.product.sql.databases import catalog_key
from hexmesh.product.sql.interrupt import StatementInterrupted, interruptible
from hexmesh.product.sql.jsonagg import json_typed
from hexmesh.product.sql.params import parameter_types
from hexmesh.product.sql.policy import (
    CatalogFilter,
    PolicyDecision,
    QueryRequest,
    StatementKind,
    TableAccess,
    TableRewrite,
)
from hexmesh.product.sql.quotient import shown_schema
from hexmesh.product.sql.references import sql_references
from hexmesh.product.sql.residual import Verdict
from hexmesh.product.sql.results import StatementRows
from hexmesh.product.sql.snapshots import ArrowSource, NativeScan, Source
from hexmesh.product.sql.spool import Spool
from hexmesh.product.sql.sqlstate import translate
from hexmesh.product.sql.statements import Statement
from hexmesh.product.sql.zones import arrow_zone, in_zone

if TYPE_CHECKING:
    from hexmesh.product.sql.port import SqlPort

__all__ = ["SqlSession"]

log = logging.getLogger(__name__)

_SYNTHETIC = "_synthetic"


@dataclass
class Prepared:
    """A query ready for DuckDB: its SQL, the sources it reads and its parsed form.

    ``sql`` names each source by a placeholder; :meth:`SqlSession._cursor` puts a native scan's
    FROM item in its place, or registers an Arrow source under a name made for that one execution.
    """

    sql: str
    sources: dict[str, Source]
    tree: exp.Expr
    columns: pa.Schema
    statement: Statement | None
    """The cached statement it came from; None when the policy answered it."""


class SqlSession:
    """Answers one connection's statements; shares no DuckDB state a client can reach with other sessions."""

    def __init__(self, port: SqlPort, ctx: SessionContext) -> None:
        self.port = port
        self.ctx = ctx
        self.tables = port.catalog.tables()
        self._by_name = {(t.schema, t.name): t for t in self.tables}
        self._catalog = catalog_key(self.tables)
        policy = port.policy
        self._view = policy.catalog_view(ctx.principal, self.tables) if isinstance(policy, CatalogFilter) else {}
        self.settings = SessionSettings(server_version=port.config.server_version)
        # A cursor of the database shared by sessions with the same catalog, view and time zone.
        self._zone = self.settings.values["timezone"]
        self.con = port.databases.cursor(self.tables, self._view, self._zone)
        self._cursors: set[duckdb.DuckDBPyConnection] = set()
        self._lock = threading.Lock()
        # A cancel that arrives before the statement has a cursor (while it is parsed or its
        # snapshots resolved) must not be lost; cleared when a statement's cursor is released.
        self._cancel_pending = False
        # Set by cancel(): parsing and rewriting stop at their next checkpoint (sql/interrupt.py).
        self._stop = threading.Event()
        # This session's share of the statement cache, and who it runs statements as.
        self._owner = secrets.token_hex(8)
        principal = ctx.principal
        self._who: Hashable = principal if _hashable(principal) and principal is not None else ctx.user
        # What this session's results not yet read may hold, in memory and on disk (sql/spool.py).
        config = port.config
        self._memory = Budget(config.result_memory, port.result_memory)
        self._disk = Budget(config.result_spill, port.result_spill)

    # -- pgwire Session ------------------------------------------------------------------

    def describe(self, sql: str, param_types: Sequence[int]) -> Description:
        with self._guarded(sql):
            described = self._describe(sql, param_types)
        if described.schema is None:
            return described
        # Rows leave with their instants in the session's TimeZone (zones.py): so does their description.
        return Description(
            described.param_types,
            shown_schema(in_zone(described.schema, arrow_zone(self.settings.values["timezone"]))),
        )

    def _describe(self, sql: str, param_types: Sequence[int]) -> Description:
        keyword = classify(sql)
        if keyword not in QUERIES:
            self._check("describe", sql, None, ())
            if keyword == "SHOW":
                result = run_command(keyword, sql, self.settings, self._parse_time)
                assert isinstance(result, RowsResult)
                return Description(list(param_types), result.schema)
            return Description(list(param_types), None)
        prepared = self._prepare(sql, "describe")
        types = parameter_types(prepared.tree, param_types, prepared.columns)
        if keyword == "EXPLAIN":
            return Description(types, pa.schema([("QUERY PLAN", pa.string())]))
        if prepared.statement is None:
            return Description(types, prepared.columns)  # the policy's own answer
        # The row description depends on the SQL and its sources' schemas, not on their rows:
        # work it out once, over empty tables (DuckDB binds the query but reads nothing).
        shapes = {name: _schema_of(source) for name, source in prepared.sources.items()}
        key = (prepared.sql, tuple(types), tuple(shapes.values()))
        if key in prepared.statement.schemas:
            known = prepared.statement.schemas[key]
            return Description(types, None if known is None else self._typed(known, prepared.tree))
        empty: dict[str, Source] = {n: shape.empty_table() for n, shape in shapes.items()}
        cursor, duck = self._cursor(replace(prepared, sources=empty))
        try:
            relation = cursor.sql(duck, params=[None] * len(types) or None)
            schema = relation.limit(0).to_arrow_table().schema if relation is not None else None
        except duckdb.Error as exc:
            raise translate(exc, prepared.tree, self._lookup) from None
        finally:
            self._release(cursor)
        prepared.statement.schemas[key] = schema
        return Description(types, None if schema is None else self._typed(schema, prepared.tree))

    def execute(self, sql: str, params: Sequence[object]) -> Result:
        with self._guarded(sql):
            return self._execute(sql, params)

    def _execute(self, sql: str, params: Sequence[object]) -> Result:
        keyword = classify(sql)
        if keyword not in QUERIES:
            self._check("command", sql, None, ())
            result = run_command(keyword, sql, self.settings, self._parse_time)
            if keyword in ("SET", "RESET", "DISCARD"):
                self._apply_timeout()
                self._follow_zone()
            return result
        prepared = self._prepare(sql, "query")
        who = self._who
        self.port.running.start(who, lambda: self._cancel_pending)
        try:
            # The engine's turn (sql/admission.py): many clients at once wait instead of running out of memory.
            self.port.admission.enter(lambda: self._cancel_pending)
        except BaseException:
            self.port.running.end(who)
            raise
        cursor: duckdb.DuckDBPyConnection | None = None

        def done() -> None:
            # Often run by the statement's spool thread: the turns go back even if the cursor's close fails.
            try:
                if cursor is not None:
                    self._release(cursor)
            finally:
                self.port.admission.leave()
                self.port.running.end(who)

        try:
            cursor, duck = self._cursor(prepared)
            reader = cursor.sql(duck, params=list(params) or None).to_arrow_reader(self.port.config.batch_rows)
        except duckdb.Error as exc:
            done()
            raise translate(exc, prepared.tree, self._lookup) from None
        except BaseException:
            done()
            raise
        zone = arrow_zone(self.settings.values["timezone"])
        rows = StatementRows(reader, self.port.config.max_result_rows, done, zone)
        if keyword == "EXPLAIN":
            return self._plan(rows)
        # The engine fills the spool at its own pace and gives its turn back when done, however
        # slowly the client reads (sql/spool.py, ADR 0045).
        config = self.port.config
        spool = Spool(
            rows, lambda: self._interrupt(cursor), self._memory, self._disk, config.batch_rows, config.spill_dir
        )
        return RowsResult(self._typed(rows.schema, prepared.tree), spool.start())

    @contextmanager
    def _guarded(self, sql: str) -> Iterator[None]:
        """One call of pgwire's: a fresh cancel flag, the statement size limit, and PostgreSQL errors
        for what Python itself raises on hostile input (a statement nested too deep)."""
        with self._lock:
            # A cancel left over from an earlier call was meant for a statement that has ended; a
            # cancel meant for this call is not lost: the server repeats cancel() while it runs.
            self._cancel_pending = False
            self._stop.clear()
        limit = self.port.config.max_statement_bytes
        if limit and len(sql) > limit // 4 and len(sql.encode()) > limit:
            raise PgError(
                SqlState.PROGRAM_LIMIT_EXCEEDED,
                f"statement is too long: {len(sql.encode())} bytes, the SQL port accepts at most {limit}",
                hint="Send a shorter statement: filter with a join or a range instead of a long IN list, "
                "or ask the node's operator to raise sql_max_statement_bytes.",
            )
        try:
            yield
        except RecursionError:
            raise PgError(
                "54001",
                "statement too complex: it nests too deep",
                hint="Nest fewer parentheses, subqueries or expressions.",
            ) from None
        except StatementInterrupted:
            raise PgError(SqlState.QUERY_CANCELED, "canceling statement due to user request") from None

    def _plan(self, rows: StatementRows) -> RowsResult:
        """EXPLAIN as PostgreSQL shows it (one "QUERY PLAN" column of lines), without the server's paths.

        DuckDB's EXPLAIN ANALYZE names the Parquet files it scanned: the warehouse folder is the
        server's business, so it is shown as ``<warehouse>/``.
        """
        root = self.port.snapshots.root
        lines: list[str] = []
        for batch in rows:
            for value in batch.column(batch.num_columns - 1).to_pylist():
                text = str(value or "")
                lines += (text.replace(root, "<warehouse>/") if root else text).splitlines()
        table = pa.table({"QUERY PLAN": pa.array(lines, pa.string())})
        return RowsResult(table.schema, table.to_batches())

    def _typed(self, schema: pa.Schema, tree: exp.Expr) -> pa.Schema:
        """Result columns announced with PostgreSQL's types: catalog names, and port tables' varchar(n)."""
        return json_typed(column_typed(catalog_typed(schema, tree), tree, self._lookup), tree)

    def cancel(self) -> None:
        with self._lock:
            self._cancel_pending = True
            cursors = list(self._cursors)
        self._stop.set()  # parsing or rewriting, if that is what runs now
        for cursor in cursors:
            cursor.interrupt()

    def close(self) -> None:
        with self._lock:
            cursors = list(self._cursors)
        for cursor in cursors:
            cursor.interrupt()
        self.con.close()
        self.port.databases.release(self._zone)
        self._zone = ""  # released: a second close gives nothing back
        self.port.statements.forget(self._owner)

    def _follow_zone(self) -> None:
        """After SET TIME ZONE: compute in the new zone, on a cursor of the database built for it.

        Refused by the engine (a zone its ICU does not know), the setting goes back to the zone the
        session computes in, so that what SHOW says and what the results mean stay the same."""
        zone = self.settings.values["timezone"]
        if zone == self._zone:
            return
        try:
            con = self.port.databases.cursor(self.tables, self._view, zone)
        except PgError:
            self.settings.values["timezone"] = self._zone
            raise
        self.con.close()
        self.port.databases.release(self._zone)
        self.con, self._zone = con, zone

    def _apply_timeout(self) -> None:
        """SET statement_timeout lowers the port's limit for this session; it cannot raise it."""
        limit = self.port.config.statement_timeout
        wanted = _seconds(self.settings.values["statement_timeout"])
        if wanted is None:
            self.ctx.statement_timeout = limit
        else:
            self.ctx.statement_timeout = wanted if limit is None else min(wanted, limit)

    # -- the statement pipeline -----------------------------------------------------------

    def _prepare(self, sql: str, kind: StatementKind) -> Prepared:
        log.debug("%s: %s", kind, sql)
        context = (self.settings.values["search_path"], self._catalog)
        with interruptible(self._stop):  # parsing runs inside the statement timeout
            statement = self.port.statements.get(sql, context, self._lookup, self._owner)
            _ = statement.references
        moment = self._statement_time()
        if statement.reads:
            self._check_serving([read.table for read in statement.reads])
        accesses: list[TableAccess] = []
        for read in statement.reads:
            as_of = self._evaluate_time(read.as_of) if read.as_of is not None else moment
            accesses.append(TableAccess(read.table, as_of, self._snapshot(read.table, as_of)))
        decision = self._check(kind, sql, statement.tree, tuple(accesses))
        if kind == "query":  # once per run, not again when a client describes first
            self._warn_deprecated(accesses)
        if decision.answer is not None:
            # The policy computed the result itself (DP aggregates): the query never reaches DuckDB.
            name = f"hexmesh_src_{secrets.token_hex(8)}_answer"
            answer = decision.answer
            return Prepared(f"SELECT * FROM {name}", {name: answer}, statement.tree, answer.schema, None)
        sources: dict[str, Source] = {}
        stored: dict[str, list[tuple[TableAccess, Source | None]]] = {}
        for i, access in enumerate(accesses):
            replaced = decision.rewrites.get(access.table.qualified)
            if replaced is not None and replaced.source is not None:
                sources[statement.names[i]] = _arrow(replaced.source)
                continue
            # Restricted fields are stored sealed: open the ones the statement uses and the view shows.
            shown = _shown(access.table, statement.references, replaced)
            table = access.table
            if self.port.opened.needs_opening(table.port, shown):
                dataset = self.port.snapshots.dataset(table, access.snapshot_id)
                ident, snapshot = tuple(table.record.table_id), access.snapshot_id
                sources[statement.names[i]] = self.port.opened.source(table.port, ident, snapshot, dataset, shown)
                stored.setdefault(table.qualified, []).append((access, None))  # opened: the filter stays
            else:
                sources[statement.names[i]] = self.port.snapshots.open(access.table, access.snapshot_id)
                stored.setdefault(table.qualified, []).append((access, sources[statement.names[i]]))
        rewrites = self._residual(decision.rewrites, stored)
        with interruptible(self._stop):
            duck = statement.duckdb_sql(rewrites, self._lookup, self._zone)
        log.debug("as DuckDB SQL: %s", duck)
        fields = {f.name: f for a in accesses for f in a.table.arrow_schema}
        return Prepared(duck, sources, statement.tree, pa.schema(list(fields.values())), statement)

    def _residual(
        self, rewrites: Mapping[str, TableRewrite], reads: Mapping[str, list[tuple[TableAccess, Source | None]]]
    ) -> Mapping[str, TableRewrite]:
        """The policy's rewrites with each row filter reduced to what is left of it on the snapshots
        read (sql/residual.py): none when every row passes, FALSE when none does."""
        reduced = dict(rewrites)
        for qualified, rewrite in rewrites.items():
            if not rewrite.row_filter or rewrite.source is not None or qualified not in reads:
                continue
            verdicts = {self._verdict(access, source, rewrite.row_filter) for access, source in reads[qualified]}
            if verdicts == {"all"}:
                reduced[qualified] = replace(rewrite, row_filter=None)
            elif verdicts == {"none"}:
                reduced[qualified] = replace(rewrite, row_filter="FALSE")
        return reduced

    def _verdict(self, access: TableAccess, source: Source | None, row_filter: str) -> Verdict:
        if source is None:
            return "some"
        snapshot = (tuple(access.table.record.table_id), access.snapshot_id)

        def scan(sql: str) -> pa.Table:
            cursor = self.con.cursor()
            try:
                if isinstance(source, NativeScan):
                    return cursor.sql(sql.replace("{source}", source.sql)).to_arrow_table()
                name = f"hexmesh_src_{secrets.token_hex(8)}_values"
                cursor.register(name, source)
                return cursor.sql(sql.replace("{source}", name)).to_arrow_table()
            finally:
                cursor.close()

        return self.port.residuals.verdict(snapshot, row_filter, access.table.arrow_schema, scan)

    def _check(
        self, kind: StatementKind, sql: str, tree: exp.Expr | None, tables: tuple[TableAccess, ...]
    ) -> PolicyDecision:
        settings = dict(self.settings.values)
        request = QueryRequest(self.ctx.principal, self.ctx.user, sql, kind, tree, tables, settings)
        decision = self.port.policy.decide(request)
        if decision.refusal is not None:
            raise PgError("42501", f"permission denied: {decision.refusal}")
        return decision

    def _check_serving(self, tables: list[PortTable]) -> None:
        """A major retired since this session started is gone for it too (its data may be deleted)."""
        if not tables:
            return  # reads no port table (``select 1``, the catalog): nothing to ask the state store
        retired = self.port.catalog.retired()
        for table in tables:
            if (table.product.key, table.product.record.major) in retired:
                raise PgError(
                    SqlState.UNDEFINED_TABLE,
                    f'relation "{table.qualified}" does not exist',
                    detail=f"{table.address.rsplit('/', 1)[0]} was retired and no longer serves.",
                    hint="Reconnect to see the tables that serve now.",
                )

    def _warn_deprecated(self, accesses: list[TableAccess]) -> None:
        """A NOTICE for every deprecated version the statement reads (psql prints it)."""
        for product in {(a.table.product.key, a.table.product.record.major) for a in accesses}:
            state = deprecated(self.port.runtime, *product)
            if state is not None:
                self.ctx.notice(notice_text(state), hint="see hexmesh status or the discovery document")

    def _lookup(self, schema: str | None, name: str) -> PortTable | None:
        found = self._find(schema, name)
        if found is None and name.endswith(_SYNTHETIC):
            # The synthetic variant of a port: the same table under another name; the policy serves it.
            base = self._find(schema, name.removesuffix(_SYNTHETIC))
            return None if base is None else replace(base, name=base.name + _SYNTHETIC)
        return found

    def _find(self, schema: str | None, name: str) -> PortTable | None:
        if schema is not None:
            return self._by_name.get((schema, name))
        path = [s.strip().strip('"') for s in self.settings.values["search_path"].split(",")]
        for candidate in path:
            if (candidate, name) in self._by_name:
                return self._by_name[(candidate, name)]
        matches = [t for (s, n), t in self._by_name.items() if n == name]
        return matches[0] if len(matches) == 1 else None

    def _statement_time(self) -> datetime:
        """One processing time for the whole statement, or the whole transaction."""
        if self.settings.as_of is not None:
            return self.settings.as_of
        moment = from_us(now_us())
        if self.settings.in_transaction:
            if self.settings.transaction_time is None:
                self.settings.transaction_time = moment
            return self.settings.transaction_time
        return moment

    def _snapshot(self, table: PortTable, as_of: datetime) -> int:
        try:
            return self.port.snapshots.snapshot_id(table, as_of)
        except HexmeshError as exc:
            raise PgError("22023", str(exc)) from None

    def _evaluate_time(self, expression: exp.Expr) -> datetime:
        return self._parse_time(expression.sql(dialect="duckdb"), literal=False)

    def _parse_time(self, value: str, *, literal: bool = True) -> datetime:
        text = "'" + value.replace("'", "''") + "'" if literal else value
        try:
            row = self.con.sql(f"SELECT epoch_us(CAST({text} AS TIMESTAMPTZ)) AS us").to_arrow_table()
        except duckdb.Error as exc:
            raise PgError("22007", f"invalid processing time {value!r} for as_of: {translate(exc).message}") from None
        micros = row.column(0)[0].as_py()
        if micros is None:
            raise PgError("22004", "as_of is null: give the processing time to read, e.g. now()")
        return from_us(int(micros))

    # -- cursors and streaming ------------------------------------------------------------

    def _cursor(self, prepared: Prepared) -> tuple[duckdb.DuckDBPyConnection, str]:
        """A cursor of its own for one execution, and the DuckDB SQL to run on it.

        Native scans take their placeholder's place in the SQL; Arrow sources are registered on
        the cursor under names made for this execution alone, gone when the cursor closes.
        """
        cursor = self.con.cursor()
        token = secrets.token_hex(8)
        duck = prepared.sql
        for i, (name, source) in enumerate(prepared.sources.items()):
            if isinstance(source, NativeScan):
                duck = _put(duck, name, source.sql)
            else:
                fresh = f"hexmesh_src_{token}_{i}"
                duck = _put(duck, name, fresh)
                cursor.register(fresh, source)
        if any(word in duck.upper() for word in _READS_SESSION):
            self._session_variables(cursor)
        with self._lock:
            self._cursors.add(cursor)
            cancelled = self._cancel_pending
        if cancelled:
            self._release(cursor)
            raise PgError(SqlState.QUERY_CANCELED, "canceling statement due to user request")
        return cursor, duck

    def _session_variables(self, cursor: duckdb.DuckDBPyConnection) -> None:
        """What current_user, current_database() and current_schema() answer (pgdialect.SESSION_VARIABLES)."""
        schemas = {t.schema for t in self.tables}
        path = [p.strip().strip('"') for p in self.settings.values["search_path"].split(",")]
        found = [p for p in path if p in schemas]
        values: dict[str, object] = {
            "hexmesh_user": self.caller,
            "hexmesh_database": self.ctx.database,
            "hexmesh_schema": found[0] if found else "public",
            "hexmesh_schemas": ["pg_catalog", *found],
        }
        for name, value in values.items():
            cursor.execute(f"SET VARIABLE {name} = ?", [value])
        names = list(self.settings.values)
        cursor.execute(
            "SET VARIABLE hexmesh_settings = map(?::VARCHAR[], ?::VARCHAR[])",
            [names, [str(self.settings.values[n]) for n in names]],
        )

    @property
    def caller(self) -> str:
        """Who the session is: its principal's id when it has one (a token's owner), else the user it gave."""
        return str(getattr(self.ctx.principal, "id", None) or self.ctx.user)

    def _interrupt(self, cursor: duckdb.DuckDBPyConnection | None) -> None:
        """Stop the engine on ``cursor`` if it still runs there (a spool whose client went away)."""
        with self._lock:
            running = cursor in self._cursors
        if running and cursor is not None:
            with suppress(duckdb.Error):  # released meanwhile: the engine is done already
                cursor.interrupt()

    def _release(self, cursor: duckdb.DuckDBPyConnection) -> None:
        with self._lock:
            self._cursors.discard(cursor)
            self._cancel_pending = False
        cursor.close()


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


#: What in a statement reads the session's variables: pgdialect's session functions, the pg_database
#: view (the connected database) and current_setting() (the session's settings).
_READS_SESSION = ("GETVARIABLE('HEXMESH_", "PG_DATABASE", "CURRENT_SETTING")


def _seconds(value: str) -> float | None:
    """A PostgreSQL duration setting ('500', '5s', '1min'; milliseconds without unit); 0 = none."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", value.lower())
    if match is None or match.group(2) not in ("", *_UNITS):
        raise PgError("22023", f'invalid value for parameter "statement_timeout": "{value}"')
    seconds = float(match.group(1)) * _UNITS.get(match.group(2) or "ms", 1e-3)
    return seconds or None


def _shown(table: PortTable, references: frozenset[str] | None, rewrite: TableRewrite | None) -> set[str]:
    """The columns of ``table`` a statement can show, so the sealed ones among them are opened.

    The ones it names (all if it may read columns it does not name), the ones the policy's row
    filter and its masks of those read; never the ones the policy hides.
    """
    columns = set(table.arrow_schema.names)
    hidden = rewrite.hide if rewrite is not None else frozenset()
    if references is None:
        return columns - hidden
    names = set(references)
    if rewrite is not None:
        for expression in [rewrite.row_filter, *(v for k, v in rewrite.transform.items() if k.lower() in names)]:
            found = sql_references(expression, "duckdb") if expression else frozenset()
            if found is None:
                return columns - hidden
            names |= found
    return {c for c in columns if c.lower() in names} - hidden


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _put(sql: str, name: str, replacement: str) -> str:
    """``sql`` with the placeholder identifier ``name`` replaced (not inside a longer identifier)."""
    return re.sub(rf"(?<![\w$]){re.escape(name)}(?![\w$])", lambda _: replacement, sql)


def _arrow(source: object) -> ArrowSource:
    if not isinstance(source, (pa.Table, ds.Dataset)):
        raise TypeError(f"a SQL port source must be an Arrow table or dataset, got {type(source).__name__}")
    return source


def _schema_of(source: Source) -> pa.Schema:
    """The schema of a source (a native scan, an Arrow table or a dataset)."""
    schema = getattr(source, "schema", None)
    if not isinstance(schema, pa.Schema):
        raise TypeError(f"a SQL port source must be an Arrow table or dataset, got {type(source).__name__}")
    return schema
