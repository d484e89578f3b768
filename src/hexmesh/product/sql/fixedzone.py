"""Local days and hours of ``timestamptz`` columns as integer arithmetic, when the session's zone has a fixed offset.

PostgreSQL computes ``date_trunc('day', ts)``, ``extract(hour from ts)`` and ``ts::date`` in
the session's TimeZone; so does the port's engine, with its zone-aware (ICU) functions, which
cost 2.5–3.5× the rest of an aggregate over 11M rows (bench/sql/port.py, docs/sql.md). In a
zone whose offset never changes (UTC, or hours east of UTC such as ``SET TIME ZONE -7``), local
time is the instant plus a constant, so the same answers are integer arithmetic on the
instant's microseconds: a day starts at ``us - floor_mod(us + offset, 1 day)``. In a zone with
daylight saving time (Europe/Paris) or a changing history, a local hour, minute or second
starts where ``us + r`` is a multiple of its length, once every offset the zone has leaves the
remainder r by that length (zoneoffsets.py: Paris's hours since 1911, r = 0; Adelaide's, 30
minutes), so ``date_trunc`` to them is arithmetic on the instant from then on, and keeps the
offset of each pass of a repeated hour as PostgreSQL does (``02:00+02`` and ``02:00+01`` in the
hour Paris repeats in autumn); days, weeks, ``extract`` and ``::date`` there keep the engine's
functions.

Only a column of a port table whose type is ``timestamptz`` in every table the statement
reads, that nothing in the statement redefines, in a statement that reads nothing but port
tables (and its own CTEs), is rewritten: there the type is known without binding the query.
Infinite instants have no microseconds (NULL): they fall back to the engine's function.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

import pyarrow as pa
from sqlglot import exp

from hexmesh.product.sql.catalog import PortTable
from hexmesh.product.sql.extract import typed_extract
from hexmesh.product.sql.zoneoffsets import ALWAYS, congruent_since

__all__ = ["fixed_offset_us", "rewrite_fixed_zone"]

_SECOND = 1_000_000
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
_WEEK = 7 * _DAY
# 1970-01-01 was a Thursday: weeks (ISO, from Monday) start 3 days before the epoch's multiples of 7 days.
_MONDAY = 3 * _DAY
_TRUNC = {
    "SECOND": (_SECOND, 0),
    "MINUTE": (_MINUTE, 0),
    "HOUR": (_HOUR, 0),
    "DAY": (_DAY, 0),
    "WEEK": (_WEEK, _MONDAY),
}
#: Hours east of UTC as PostgreSQL stores them (``<-07>+07``): the whole setting, never a POSIX rule with DST.
_POSIX = re.compile(r"^<(?P<sign>[+-])(?P<hours>\d{2})(?P<minutes>\d{2})?>[+-]\d{2}(\d{2})?$")


def fixed_offset_us(zone: str) -> int | None:
    """Microseconds east of UTC of a canonical TimeZone setting (sql/zones.py) whose offset never
    changes (``UTC``, ``<-07>+07``); None for a named zone, whose offset may change."""
    if zone == "UTC":
        return 0
    match = _POSIX.match(zone)
    if match is None:
        return None
    offset = int(match["hours"]) * _HOUR + int(match["minutes"] or 0) * _MINUTE
    return offset if match["sign"] == "+" else -offset


def rewrite_fixed_zone(tree: exp.Expr, tables: Iterable[PortTable], redefined: Collection[str], zone: str) -> None:
    """Rewrite, in place, the zone-aware time functions of ``tree`` on ``timestamptz`` port columns.

    ``tables`` are the port tables the statement reads, ``redefined`` the column names a policy
    rewrite computes (their type is the policy's), ``zone`` the session's canonical TimeZone. Does
    nothing when a column's type is not known for sure (see the module's docstring).
    """
    offset = fixed_offset_us(zone)
    columns = _instant_columns(tree, list(tables), redefined)
    if not columns:
        return
    for node in list(tree.find_all(exp.TimestampTrunc, exp.Extract, exp.Cast)):
        replaced = _arithmetic(node, columns, offset) if offset is not None else _in_named_zone(node, columns, zone)
        if replaced is not None:
            node.replace(replaced)


def _in_named_zone(node: exp.Expr, columns: frozenset[str], zone: str) -> exp.Expr | None:
    """``date_trunc`` to the second, minute or hour in a zone whose offsets change: arithmetic on the
    instant from when every offset of the zone leaves one remainder by the unit, the engine's before."""
    if not isinstance(node, exp.TimestampTrunc) or node.args.get("zone") is not None:
        return None
    if not _instant(node.this, columns):
        return None
    size = _TRUNC.get(node.text("unit").upper(), (_DAY, 0))[0]
    congruent = congruent_since(zone, size // _SECOND) if size <= _HOUR else None
    if congruent is None:
        return None
    since, remainder = congruent
    local = _plus(_us(node.this), remainder * _SECOND)
    start = _call("make_timestamptz", _sub(_us(node.this), _floor_mod(local, size)))
    if since == ALWAYS:
        return exp.Coalesce(this=start, expressions=[node.copy()])
    # From the unit after: the unit an instant is in must have begun after the change too. Infinite
    # instants have no microseconds (NULL): not after it, so the engine's function answers them.
    after = exp.GTE(this=_us(node.this), expression=_number(since + size))
    return exp.Case(ifs=[exp.If(this=after, true=start)], default=node.copy())


def _instant_columns(tree: exp.Expr, tables: list[PortTable], redefined: Collection[str]) -> frozenset[str]:
    """The lower-cased names that surely denote a ``timestamptz`` port column anywhere in ``tree``."""
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    port_nodes = sum(1 for node in tree.find_all(exp.Table) if node.name.lower() not in ctes or node.db)
    if not tables or port_nodes != len(tables):
        return frozenset()  # a catalog relation or a table function: its columns' types are not known here
    instants: set[str] = set()
    others: set[str] = {name.lower() for name in redefined}
    for table in tables:
        for field in table.arrow_schema:
            is_instant = pa.types.is_timestamp(field.type) and field.type.tz is not None
            (instants if is_instant else others).add(field.name.lower())
            others.update(_nested_names(field.type))  # t.s.played_at may be a struct's field
    for node in tree.find_all(exp.Alias, exp.TableAlias):
        if isinstance(node, exp.Alias):
            others.add(node.alias.lower())
        else:  # FROM unnest(…) AS played_at names a column too
            others.update([node.name.lower(), *(column.name.lower() for column in node.args.get("columns") or [])])
    return frozenset(instants - others)


def _nested_names(kind: pa.DataType) -> set[str]:
    if pa.types.is_struct(kind):
        return {n for f in kind for n in (f.name.lower(), *_nested_names(f.type))}
    if pa.types.is_map(kind):
        return _nested_names(kind.key_type) | _nested_names(kind.item_type)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        return _nested_names(kind.value_type)
    return set()


def _arithmetic(node: exp.Expr, columns: frozenset[str], offset: int) -> exp.Expr | None:
    if isinstance(node, exp.TimestampTrunc) and node.args.get("zone") is None:
        unit = _instant(node.this, columns) and _TRUNC.get(node.text("unit").upper())
        if not unit:
            return None
        size, anchor = unit
        start = _sub(_us(node.this), _floor_mod(_plus(_us(node.this), offset + anchor), size))
        # Infinite instants have no microseconds (NULL): the engine's function answers for them.
        return exp.Coalesce(this=_call("make_timestamptz", start), expressions=[node.copy()])
    if isinstance(node, exp.Extract) and _instant(node.expression, columns):
        local = _plus(_us(node.expression), offset)
        field = node.text("this").upper()
        if field == "HOUR":
            return typed_extract(node, _div(_floor_mod(local, _DAY), _HOUR))
        if field == "MINUTE":
            return typed_extract(node, _div(_floor_mod(local, _HOUR), _MINUTE))
        if field in ("DOW", "DAYOFWEEK"):  # Sunday is 0; the epoch's day was a Thursday (4)
            return typed_extract(node, _floor_mod(_plus(_div(_sub(local, _floor_mod(local, _DAY)), _DAY), 4), 7))
        return None
    if isinstance(node, exp.Cast) and node.to.is_type("date") and _instant(node.this, columns):
        local = _plus(_us(node.this), offset)
        day = _call("make_timestamp", _sub(local, _floor_mod(local, _DAY)))
        return exp.Coalesce(this=exp.Cast(this=day, to=exp.DataType.build("DATE")), expressions=[node.copy()])
    return None


def _instant(node: exp.Expr, columns: frozenset[str]) -> bool:
    return isinstance(node, exp.Column) and node.name.lower() in columns


def _us(column: exp.Expr) -> exp.Expr:
    return _call("epoch_us", column.copy())


def _call(name: str, *args: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=list(args))


def _number(value: int) -> exp.Expr:
    literal = exp.Literal.number(abs(value))
    return exp.Neg(this=literal) if value < 0 else literal


def _plus(left: exp.Expr, value: int) -> exp.Expr:
    return left if value == 0 else exp.Paren(this=exp.Add(this=left, expression=_number(value)))


def _sub(left: exp.Expr, right: exp.Expr) -> exp.Expr:
    return exp.Paren(this=exp.Sub(this=left, expression=right))


def _div(left: exp.Expr, size: int) -> exp.Expr:
    """Integer division of a non-negative (or exactly divisible) number."""
    return exp.Paren(this=exp.IntDiv(this=left, expression=_number(size)))


def _floor_mod(left: exp.Expr, size: int) -> exp.Expr:
    """The remainder in [0, size), also for instants before the epoch (``%`` keeps the dividend's sign)."""
    inner = exp.Mod(
        this=exp.Paren(this=exp.Add(this=exp.Mod(this=left, expression=_number(size)), expression=_number(size))),
        expression=_number(size),
    )
    return exp.Paren(this=inner)
