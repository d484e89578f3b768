"""What is left of a policy's row filter on one snapshot: all of it, nothing, or a filter that keeps nothing.

DuckDB evaluates a row filter pushed into its Parquet scan on every row, even in row groups
whose statistics prove that every row passes (docs/adr/0044). A filter that keeps every row of
the snapshot read (``country <> 'XX'`` where no play comes from XX, a region rule on a product
holding one region's rows) would still read its columns over the whole table. So the port
works out, once per snapshot and set of columns, the distinct values those columns take when
they are few (:data:`DISTINCT_LIMIT`), and judges each statement's row filter on them: when
every value passes, the filter is left out of the DuckDB SQL; when none does, the filter becomes
``FALSE`` (nothing is read); otherwise it stays as the policy wrote it. Every row has one of
those values, so the rows a statement reads are exactly the ones the filter keeps.

Only a filter of comparisons between columns and literals, over columns whose comparisons do
not depend on the session (strings, numbers, booleans), is judged: a function, a cast, a
subquery or a time column (whose literals are read in the session's time zone) leaves the
filter as it is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Literal

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from hexmesh.cache import BoundedCache

__all__ = ["DISTINCT_LIMIT", "Residuals", "Verdict", "filter_columns"]

#: At most this many distinct values (of the filter's columns) are kept per snapshot; more: no verdict.
DISTINCT_LIMIT = 1024

Verdict = Literal["all", "none", "some"]

#: The syntax a judged filter may use: nothing that could answer differently row by row or call by call.
_PLAIN = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Paren,
    exp.Neg,
    exp.And,
    exp.Or,
    exp.Not,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.NullSafeEQ,
    exp.NullSafeNEQ,
    exp.In,
    exp.Is,
    exp.Between,
    exp.Like,
    exp.ILike,
)


def _plain_type(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_decimal(kind)
    )


def filter_columns(row_filter: str, schema: pa.Schema) -> tuple[str, ...] | None:
    """The columns a judgeable filter reads (sorted), or None when the filter is not judged."""
    try:
        tree = sqlglot.parse_one(row_filter, read="duckdb")
    except SqlglotError:
        return None
    if tree is None or any(not isinstance(node, _PLAIN) for node in tree.walk()):
        return None
    names = {field.name.lower(): field for field in schema}
    columns = set()
    for column in tree.find_all(exp.Column):
        field = names.get(column.name.lower())
        if column.table or field is None or not _plain_type(field.type):
            return None
        columns.add(field.name)
    return tuple(sorted(columns))


class Residuals:
    """Distinct values per (snapshot, columns), and verdicts per (snapshot, filter); bounded, shared by sessions."""

    def __init__(self, entries: int = 1024) -> None:
        self._values: BoundedCache[Hashable, pa.Table | bool] = BoundedCache(entries)
        self._verdicts: BoundedCache[Hashable, str] = BoundedCache(entries)
        self._computing = threading.Lock()  # one scan per snapshot, not one per client asking at once

    def verdict(
        self,
        snapshot: Hashable,
        row_filter: str,
        schema: pa.Schema,
        scan: Callable[[str], pa.Table],
    ) -> Verdict:
        """How much of ``row_filter`` is left on the snapshot ``snapshot`` (any key naming one snapshot).

        ``scan(sql)`` runs ``sql`` with ``{source}`` standing for the snapshot's rows as the
        statement reads them, and returns the result.
        """
        found = self._verdicts.get((snapshot, row_filter))
        if found is not None:
            return found  # type: ignore[return-value]
        columns = filter_columns(row_filter, schema)
        try:
            values = None if columns is None else self._distinct(snapshot, columns, scan)
        except duckdb.Error:
            return "some"  # the filter stays: an engine short of memory must not fail the statement
        judged: Verdict = "some" if values is None else _judge(values, row_filter)
        self._verdicts.put((snapshot, row_filter), judged)
        return judged

    def _distinct(
        self, snapshot: Hashable, columns: tuple[str, ...], scan: Callable[[str], pa.Table]
    ) -> pa.Table | None:
        key = (snapshot, columns)
        found = self._values.get(key)
        if found is None:
            with self._computing:
                found = self._values.get(key)
                if found is None:
                    found = self._values.put(key, _distinct_values(columns, scan))
        return found if isinstance(found, pa.Table) else None


def _distinct_values(columns: tuple[str, ...], scan: Callable[[str], pa.Table]) -> pa.Table | bool:
    """The distinct tuples of ``columns``, or False when there are more than :data:`DISTINCT_LIMIT`.

    An estimate first (HyperLogLog, constant memory), so that a column of millions of values is
    never collected.
    """
    names = ", ".join(_quote(c) for c in columns)
    estimate = scan(f"SELECT approx_count_distinct(hash({names})) AS n FROM {{source}}").column(0)[0].as_py()
    if estimate is None or estimate > DISTINCT_LIMIT:
        return False
    values = scan(f"SELECT DISTINCT {names} FROM {{source}} LIMIT {DISTINCT_LIMIT + 1}")
    return values if values.num_rows <= DISTINCT_LIMIT else False


def _judge(values: pa.Table, row_filter: str) -> Verdict:
    """Whether every, no or some distinct value passes ``row_filter`` (a NULL answer does not pass)."""
    with duckdb.connect(":memory:") as con:
        con.register("hexmesh_values", values)
        total, kept = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE coalesce(({row_filter}), false)) FROM hexmesh_values"
        ).fetchone() or (0, 0)
    if kept == total:
        return "all"
    return "none" if kept == 0 else "some"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
