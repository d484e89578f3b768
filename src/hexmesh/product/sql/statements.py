"""Parsed and rewritten statements, cached: sqlglot takes milliseconds and clients repeat their SQL.

A statement's parse tree and the port tables it reads depend only on its text, the session's
``search_path`` and the catalog state, so they are kept per (text, search_path, catalog) and
shared by every session. The policy still decides every execution (it may answer differently
each time); only the DuckDB SQL that results from a decision's rewrites is cached, per entry
and per set of rewrites.

Each entry names its Arrow sources with a random token of its own. The names exist only on
the cursor of one execution of that very text, so no other statement can reach them.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections import Counter, OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import pyarrow as pa
from sqlglot import exp

from hexmesh.pgwire import PgError, SqlState
from hexmesh.product.sql import rewrite
from hexmesh.product.sql.argtypes import check_arity
from hexmesh.product.sql.catalog import PortTable
from hexmesh.product.sql.columntypes import check_comparisons
from hexmesh.product.sql.commands import read_only_error
from hexmesh.product.sql.policy import TableRewrite
from hexmesh.product.sql.references import referenced_names

__all__ = ["Statement", "StatementCache", "TableRead", "statement_size"]

_EXPLAIN = re.compile(r"^\s*EXPLAIN(\s+ANALYZE)?\s+", re.IGNORECASE)
_MUTATIONS = (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop, exp.Alter, exp.Command)


@dataclass(frozen=True)
class TableRead:
    """A port table a statement reads, and its own processing time if it gives one."""

    table: PortTable
    as_of: exp.Expr | None


@dataclass
class Statement:
    """A checked, parsed query and the port tables it reads.

    ``tree`` is shared by every session that runs the same text: read it, never change it.
    """

    sql: str
    tree: exp.Expr
    reads: tuple[TableRead, ...]
    names: dict[int, str]
    """The Arrow source name of each read, unique to this entry."""
    schemas: dict[Hashable, pa.Schema | None] = field(default_factory=dict)
    """Row descriptions worked out for this statement, by DuckDB SQL, parameter types and source schemas."""
    _duckdb: dict[Hashable, str] = field(default_factory=dict)

    @cached_property
    def references(self) -> frozenset[str] | None:
        """The names the statement uses, lower-cased; None when it may read columns it does not name."""
        return referenced_names(self.tree)

    def duckdb_sql(self, rewrites: Mapping[str, TableRewrite], lookup: rewrite.Lookup, zone: str = "UTC") -> str:
        """The DuckDB SQL reading this entry's sources, with the policy's rewrites applied, for a
        session computing in ``zone`` (a canonical TimeZone setting).

        ``lookup`` resolves table names as when the entry was made (same search_path and catalog).
        """
        key = (_rewrites_key(rewrites), zone)
        found = self._duckdb.get(key)
        if found is None:
            # apply() rewrites the tree in place: work on a fresh parse, keep the shared one.
            explain, body = _split_explain(self.sql)
            tree = rewrite.parse(body)
            uses = rewrite.table_uses(tree, lookup)
            found = explain + rewrite.apply(tree, uses, self.names, rewrites, zone)
            self._duckdb[key] = found
        return found


def parse_statement(sql: str, lookup: rewrite.Lookup) -> Statement:
    """Parse and check a query: refuse writes and internal names, resolve its port tables."""
    _, body = _split_explain(sql)
    tree = rewrite.parse(body)
    for node in tree.find_all(*_MUTATIONS):
        raise (
            read_only_error(node.key.upper())
            if not isinstance(node, exp.Command)
            else PgError(SqlState.SYNTAX_ERROR, f"statement not supported by hexmesh: {body[:60]}")
        )
    if any(t.name.lower().startswith("hexmesh_src") for t in tree.find_all(exp.Table)):
        raise PgError(SqlState.UNDEFINED_TABLE, "relations named hexmesh_src* are internal")
    uses = rewrite.table_uses(tree, lookup)
    check_comparisons(tree, lookup)
    check_arity(tree, lookup)
    _check_order_positions(tree)
    token = secrets.token_hex(8)
    names = {i: f"hexmesh_src_{token}_{i}" for i in range(len(uses))}
    return Statement(sql, tree, tuple(TableRead(u.table, u.as_of) for u in uses), names)


def _check_order_positions(tree: exp.Expr) -> None:
    """``ORDER BY 5`` of a query with fewer columns, in PostgreSQL's words (the engine's say no position)."""
    for select in tree.find_all(exp.Select):
        order = select.args.get("order")
        stars = any(isinstance(p, exp.Star) or isinstance(p.this, exp.Star) for p in select.expressions)
        if not isinstance(order, exp.Order) or stars:
            continue
        for ordered in order.expressions:
            key = ordered.this
            if isinstance(key, exp.Literal) and key.is_int and not 1 <= int(key.this) <= len(select.expressions):
                raise PgError("42P10", f"ORDER BY position {key.this} is not in select list")


@dataclass
class _Entry:
    statement: Statement
    size: int
    owner: Hashable | None
    """The session that parsed it, until another session uses it too (None: shared)."""


def statement_size(sql: str) -> int:
    """What keeping a parsed statement costs, roughly: its syntax trees take several times its text."""
    return 4096 + 8 * len(sql)


class StatementCache:
    """The most recently used statements of one SQL port, shared by its sessions, bounded in bytes.

    ``max_bytes`` bounds the whole cache, ``session_bytes`` what one session's own statements
    (those no other session used) may hold: a client sending many large distinct statements
    evicts its own, not everyone's, and what only it used goes when it disconnects (:meth:`forget`).
    A statement larger than ``session_bytes`` is parsed every time and never kept.
    """

    def __init__(self, max_bytes: int = 64 * 1024 * 1024, session_bytes: int = 8 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self.session_bytes = session_bytes
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._bytes = 0
        self._owned: Counter[Hashable] = Counter()
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        """The estimated size of what is kept."""
        with self._lock:
            return self._bytes

    def owned(self, owner: Hashable) -> int:
        """The estimated size of what only ``owner`` uses."""
        with self._lock:
            return self._owned[owner]

    def get(self, sql: str, context: Hashable, lookup: rewrite.Lookup, owner: Hashable = None) -> Statement:
        """The statement for ``sql`` in ``context`` (search_path and catalog state), parsed once."""
        key = (sql, context)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                if found.owner is not None and found.owner != owner:
                    self._owned[found.owner] -= found.size
                    found.owner = None
                return found.statement
        # Parse outside the lock; errors are raised every time, never cached.
        parsed = parse_statement(sql, lookup)
        size = statement_size(sql)
        if size > min(self.session_bytes, self.max_bytes):
            return parsed
        with self._lock:
            if key in self._entries:
                return self._entries[key].statement
            mine = [k for k, e in self._entries.items() if e.owner is not None and e.owner == owner]
            while mine and self._owned[owner] + size > self.session_bytes:
                self._drop(mine.pop(0))
            self._entries[key] = _Entry(parsed, size, owner)
            self._bytes += size
            self._owned[owner] += size
            while self._bytes > self.max_bytes:
                self._drop(next(iter(self._entries)))
        return parsed

    def forget(self, owner: Hashable) -> None:
        """``owner`` (a session) ended: drop the statements only it used."""
        with self._lock:
            for key in [k for k, e in self._entries.items() if e.owner is not None and e.owner == owner]:
                self._drop(key)
            self._owned.pop(owner, None)

    def _drop(self, key: Hashable) -> None:
        entry = self._entries.pop(key)
        self._bytes -= entry.size
        if entry.owner is not None:
            self._owned[entry.owner] -= entry.size
            if self._owned[entry.owner] <= 0:
                del self._owned[entry.owner]


def _split_explain(sql: str) -> tuple[str, str]:
    match = _EXPLAIN.match(sql)
    return (match.group(0), sql[match.end() :]) if match else ("", sql)


def _rewrites_key(rewrites: Mapping[str, TableRewrite]) -> Hashable:
    # The SQL depends on what is hidden, transformed and filtered, not on a rewrite's source rows.
    return tuple(
        sorted(
            (name, tuple(sorted(r.hide)), tuple(sorted(r.transform.items())), r.row_filter)
            for name, r in rewrites.items()
        )
    )
