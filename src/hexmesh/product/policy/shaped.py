"""What a caller sends acts on what it may see: filters and event-time windows over the shaped view.

A filter evaluated on the stored values before masking is a yes/no oracle: ``?filter=user_id =
'u42'`` answers "is there a row of u42" to a caller who only sees pseudonyms, and a few hundred
such questions map every pseudonym back. So a read's filter and ``since``/``until`` window are
checked against the caller's plan and split in two:

- the parts that name only columns the caller reads **in clear** (kept untransformed and not
  sealed at rest) are pushed down into the scan: on those columns, the stored value *is* the
  value the caller sees, so the answer cannot differ (and the scan stays fast);
- everything else is evaluated **after** masking, on the rows as the caller gets them: a
  filter on a pseudonymized column compares pseudonyms, on a generalized one the bands.

A filter (or window) naming a column the caller may not see at all is refused with the same
message as a column that does not exist, so even the refusal tells nothing about hidden names.
The synthetic variant is never filtered before it is fitted: its rows are filtered after.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.expressions import (
    AlwaysFalse,
    AlwaysTrue,
    And,
    BooleanExpression,
    EqualTo,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNaN,
    IsNull,
    LessThan,
    LessThanOrEqual,
    Not,
    NotEqualTo,
    NotIn,
    NotNaN,
    NotNull,
    NotStartsWith,
    Or,
    StartsWith,
    parser,
)

from hexmesh.errors import ReadError
from hexmesh.governance import ReadPlan, restricted_fields
from hexmesh.product.ports import ReadRequest
from hexmesh.spec import OutputPort

__all__ = ["ShapedRequest", "UnservedColumnError", "request_details", "shape_request"]

Filter = Callable[[pa.Table], pa.Table]


class UnservedColumnError(ReadError):
    """A filter or window names a column that is not served to the caller (hidden, or no such column)."""


@dataclass(frozen=True)
class ShapedRequest:
    """A read request split by where each part may act.

    ``stored`` goes to the scan (its filter and window name only columns read in clear);
    ``after`` filters the rows as the caller sees them (None: nothing left to do);
    ``details`` is what the audit log records about what the caller sent.
    """

    stored: ReadRequest
    after: Filter | None
    details: dict[str, Any]


def shape_request(plan: ReadPlan, port: OutputPort, request: ReadRequest, *, synthetic: bool = False) -> ShapedRequest:
    """Split ``request`` for ``plan`` (see the module docstring).

    Raises:
        UnservedColumnError: the filter or window names a column the caller may not see (or none such).
        ReadError: the filter is not understood.
    """
    details = request_details(request)
    served = list(plan.columns)
    clear = {n for n, a in plan.columns.items() if a.kind == "keep"} - set(restricted_fields(port))
    if synthetic:
        clear = set()  # synthetic rows are fitted on every row the plan allows, then filtered
    expression = _parse(request.filter) if request.filter else None
    window = request.since is not None or request.until is not None
    event = port.event_time
    used = _names(expression) if expression is not None else set()
    if window:
        if event is None:
            raise ReadError(
                f"port {port.name!r} declares no eventTime, so since/until cannot apply; filter on a column instead"
            )
        used = used | {event}
    unserved = sorted(n for n in used if n not in plan.columns)
    if unserved:
        hints = [difflib.get_close_matches(n, served, n=1) for n in unserved]
        hint = "; ".join(f"did you mean {h[0]!r}?" for h in hints if h) or f"columns you may read: {', '.join(served)}"
        raise UnservedColumnError(f"no column {', '.join(unserved)} is served to you on port {port.name!r}; {hint}")
    stored = replace(request, filter=None, since=None, until=None)
    after: BooleanExpression | None = None
    if expression is not None:
        if _names(expression) <= clear:
            stored = replace(stored, filter=request.filter)
        else:
            after = expression
    window_after: Window | None = None
    if window and event is not None:
        if event in clear:
            stored = replace(stored, since=request.since, until=request.until)
        else:
            window_after = (event, request.since, request.until)
    if after is None and window_after is None:
        return ShapedRequest(stored, None, details)
    return ShapedRequest(stored, _after(after, window_after, request.filter), details)


def request_details(request: ReadRequest) -> dict[str, Any]:
    """What a caller sent with a read (filter, window, time, columns), as the audit log records it."""
    sent: dict[str, Any] = {}
    if request.filter:
        sent["filter"] = request.filter
    for name in ("since", "until", "as_of"):
        value = getattr(request, name)
        if value is not None:
            sent[name] = value.isoformat()
    if request.columns:
        sent["columns"] = list(request.columns)
    return sent


def _parse(text: str) -> BooleanExpression:
    try:
        return parser.parse(text)
    except Exception as exc:  # pyiceberg raises pyparsing's errors
        raise ReadError(
            f"filter {text!r} is not understood ({exc}); write comparisons joined by and/or, "
            "for example \"device = 'ios' and duration_s > 60\""
        ) from None


def _names(expression: BooleanExpression) -> set[str]:
    if isinstance(expression, And | Or):
        return _names(expression.left) | _names(expression.right)
    if isinstance(expression, Not):
        return _names(expression.child)
    term = getattr(expression, "term", None)
    return {str(term.name)} if term is not None else set()


_COMPARISONS: dict[type, Callable[[pc.Expression, pa.Scalar], pc.Expression]] = {
    EqualTo: lambda f, v: f == v,
    NotEqualTo: lambda f, v: f != v,
    LessThan: lambda f, v: f < v,
    LessThanOrEqual: lambda f, v: f <= v,
    GreaterThan: lambda f, v: f > v,
    GreaterThanOrEqual: lambda f, v: f >= v,
}
Window = tuple[str, datetime | date | None, datetime | date | None]


def _after(expression: BooleanExpression | None, window: Window | None, text: str | None) -> Filter:
    """Filter shaped rows: the expression's literals take the types of the columns as the caller sees them."""

    def apply(table: pa.Table) -> pa.Table:
        try:
            condition = pc.scalar(True)
            if expression is not None:
                condition = _arrow(expression, table.schema)
            if window is not None:
                event, since, until = window
                if since is not None:
                    condition = condition & (pc.field(event) >= _literal(since, table.schema.field(event).type))
                if until is not None:
                    condition = condition & (pc.field(event) < _literal(until, table.schema.field(event).type))
            return table.filter(condition)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, ValueError) as exc:
            what = f"filter {text!r}" if text else "since/until"
            raise ReadError(f"{what} cannot compare the values you read: {exc}") from None

    return apply


def _arrow(expression: BooleanExpression, schema: pa.Schema) -> pc.Expression:
    """A pyarrow compute expression for a parsed filter over a table of ``schema``."""
    if isinstance(expression, AlwaysTrue):
        return pc.scalar(True)
    if isinstance(expression, AlwaysFalse):
        return pc.scalar(False)
    if isinstance(expression, And):
        return _arrow(expression.left, schema) & _arrow(expression.right, schema)
    if isinstance(expression, Or):
        return _arrow(expression.left, schema) | _arrow(expression.right, schema)
    if isinstance(expression, Not):
        return ~_arrow(expression.child, schema)
    name = str(expression.term.name)  # type: ignore[attr-defined]
    column, kind = pc.field(name), schema.field(name).type
    if isinstance(expression, IsNull):
        return column.is_null()
    if isinstance(expression, NotNull):
        return column.is_valid()
    if isinstance(expression, IsNaN | NotNaN):
        nan = pc.is_nan(column) if pa.types.is_floating(kind) else pc.scalar(False)
        return nan if isinstance(expression, IsNaN) else ~nan
    if isinstance(expression, In | NotIn):
        values = pa.array([_literal(lit.value, kind).as_py() for lit in expression.literals], kind)
        found = pc.is_in(column, value_set=values)
        return found if isinstance(expression, In) else ~found
    value = expression.literal.value  # type: ignore[attr-defined]
    if isinstance(expression, StartsWith | NotStartsWith):
        started = pc.starts_with(column, pattern=str(value)) if pa.types.is_string(kind) else pc.scalar(False)
        return started if isinstance(expression, StartsWith) else ~started
    compare = _COMPARISONS.get(type(expression))
    if compare is None:
        raise ReadError(f"filter operator {type(expression).__name__} is not supported")
    return compare(column, _literal(value, kind))


def _literal(value: Any, kind: pa.DataType) -> pa.Scalar:
    """``value`` as a scalar of ``kind``; text times and dates are read as ISO 8601 (UTC when no zone)."""
    if pa.types.is_timestamp(kind) and isinstance(value, str | date):
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        if not isinstance(moment, datetime):
            moment = datetime(moment.year, moment.month, moment.day)
        if kind.tz is not None and moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return pa.scalar(moment, kind)
    if pa.types.is_date(kind) and isinstance(value, str):
        return pa.scalar(date.fromisoformat(value), kind)
    if pa.types.is_date(kind) and isinstance(value, datetime):
        return pa.scalar(value.date(), kind)
    return pa.scalar(value).cast(kind)
