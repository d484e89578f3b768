"""Bitemporal reads of output ports: as of a processing time, for an event-time window (their checks).

The state store's publication log decides what a port served at any moment; two reads with
the same arguments return the same rows forever, because published snapshots never change.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pyarrow as pa
from pyiceberg.expressions import (
    And,
    BooleanExpression,
    GreaterThanOrEqual,
    LessThan,
    parser,
)
from pyiceberg.expressions.visitors import bind

from hexmesh.errors import ReadError
from hexmesh.infra.state import PortRecord, Publication, now_us, to_us
from hexmesh.infra.tables import arrow_schema, iceberg_schema
from hexmesh.product.deployed import DeployedProduct
from hexmesh.product.runtime import Runtime
from hexmesh.product.sealing import check_filter, served_schema
from hexmesh.spec import OutputPort

__all__ = ["OutputPortReader", "ReadRequest"]


@dataclass(frozen=True)
class ReadRequest:
    """The arguments of a read: processing time, event-time window, projection, filter, and
    ``after`` (only the rows published after that snapshot: an incremental reader's last position)."""

    as_of: datetime | None = None
    since: datetime | date | None = None
    until: datetime | date | None = None
    columns: tuple[str, ...] | None = None
    filter: str | None = None
    after: int | None = None


class OutputPortReader:
    """One output port of one deployed product version: its record, publications and read checks.

    It reads no rows: a port's rows are read through the policy's door
    (:mod:`hexmesh.product.policy.door`, docs/adr/0026), as a principal sees them.
    """

    def __init__(self, runtime: Runtime, product: DeployedProduct, port: str) -> None:
        self.runtime = runtime
        self.product = product
        self.spec: OutputPort = product.output(port)
        self.record: PortRecord = product.port_record(runtime, port)

    @property
    def address(self) -> str:
        return f"dp://{self.product.key}/{self.spec.name}"

    def publication(self, as_of: datetime | None = None) -> Publication | None:
        """The publication served at ``as_of`` (default now), or None before the first one."""
        limit = to_us(as_of) if as_of is not None else None
        if limit is not None and limit > now_us():
            raise ReadError(
                f"as_of {as_of.isoformat() if as_of else ''} is in the future; a read of the "
                "future could change, so give a time at or before now"
            )
        return self.runtime.state.latest_publication(self.record.id, as_of_us=limit)

    def publications(self) -> list[Publication]:
        return self.runtime.state.publications(self.record.id)

    def _empty(self, columns: list[str] | None) -> pa.Table:
        schema = served_schema(self.spec, arrow_schema(self.spec))
        if columns:
            schema = pa.schema([schema.field(c) for c in columns])
        return schema.empty_table()

    def _columns(self, columns: tuple[str, ...] | None) -> list[str] | None:
        if not columns:
            return None
        known = [f.name for f in self.spec.properties]
        for name in columns:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"columns: {', '.join(known)}"
                raise ReadError(f"port {self.address} has no column {name!r}; {hint}")
        return list(columns)

    def _filter(self, request: ReadRequest) -> BooleanExpression | None:
        parts: list[BooleanExpression] = []
        if request.since is not None or request.until is not None:
            event = self.spec.event_time
            if event is None:
                raise ReadError(
                    f"port {self.address} declares no eventTime, so since/until cannot apply; "
                    "filter on a column instead"
                )
            is_date = self.spec.field(event).logical_type == "date"  # type: ignore[union-attr]
            since, until = _instant(request.since, is_date), _instant(request.until, is_date)
            if since is not None and until is not None and since > until:  # since == until: empty
                raise ReadError(
                    f"since ({request.since}) must be before until ({request.until}), or equal to it for an "
                    "empty window; the window is [since, until)"
                )
            if since is not None:
                # pyiceberg's pydantic-generated signature hides the 'literal' keyword it accepts.
                parts.append(GreaterThanOrEqual(term=event, literal=since))  # type: ignore[call-arg]
            if until is not None:
                parts.append(LessThan(term=event, literal=until))  # type: ignore[call-arg]
        if request.filter:
            try:
                parts.append(parser.parse(request.filter))
            except Exception as exc:  # pyiceberg raises pyparsing's errors
                raise ReadError(
                    f"filter {request.filter!r} is not understood ({exc}); write comparisons "
                    "joined by and/or, for example \"device = 'ios' and duration_s > 60\""
                ) from None
        if not parts:
            return None
        expression = parts[0] if len(parts) == 1 else And(*parts)
        try:
            bind(iceberg_schema(self.spec), expression, case_sensitive=True)
        except ValueError as exc:
            known = ", ".join(f.name for f in self.spec.properties)
            raise ReadError(
                f"filter {request.filter!r} cannot apply to {self.address}: {exc}; columns: {known}"
            ) from None
        check_filter(self.spec, expression)
        return expression


def _instant(value: datetime | date | None, is_date: bool) -> str | None:
    """Render a bound as the literal the event-time column's type expects."""
    if value is None:
        return None
    if is_date:
        return (value.date() if isinstance(value, datetime) else value).isoformat()
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()
