"""A port's row events as one subscriber may see them: masked by its read plan, with ids that say nothing
about the rows it may not see.

The log holds each row as stored (sealed fields sealed, nothing masked); every node shapes events at
its SSE/WebSocket edge, per subscriber, exactly as the SQL port and the files port shape rows: the
same plan, applied to the rows typed as the port declares them, so the three agree value for value.

Event ids are positions in the log (``seq``) and ``<snapshot>-<row>``: consecutive for the rows of
one publication. To a subscriber whose plan leaves rows out (a row filter, a minimum group size),
the gaps between them would say how many rows it may not see, and where; to any other, gaps in the
log's sequence say how much other ports published. So every subscriber but the product's owners
(``control``) gets opaque cursors (``t_…``, deterministic encryption under a key of its own and of
the stream) and a keyed hash for the event's ``id``, whatever its plan is now — a policy changed
mid-stream cannot turn them back into numbers. It resumes with them (``Last-Event-ID``, ``start=``,
WebSocket acks, stored offsets) as with numbers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from hexmesh.errors import ReadError
from hexmesh.governance import ColumnAction, ReadPlan, apply_plan
from hexmesh.governance.pseudonym import derive_key, detokenize, tokenize
from hexmesh.infra.events import StoredEvent
from hexmesh.infra.tables import arrow_schema
from hexmesh.product.eventstream import ROW_EVENT, json_value
from hexmesh.product.policy.opening import open_events
from hexmesh.product.subscription import is_sequence, sequence_number
from hexmesh.spec import OutputPort

if TYPE_CHECKING:
    from hexmesh.governance import Principal
    from hexmesh.product.deployed import DeployedProduct
    from hexmesh.product.policy.sidecar import PolicySidecar

__all__ = ["Cursors", "cursors_for", "governed_events", "shaped_events"]

_SEQ = "__hexmesh_seq"


@dataclass(frozen=True)
class Cursors:
    """How one subscriber's event positions are written and read back (``key`` None: plain numbers)."""

    key: bytes | None = None

    @property
    def opaque(self) -> bool:
        return self.key is not None

    def show(self, seq: int) -> str:
        if self.key is None:
            return str(seq)
        return str(tokenize(pa.array([str(seq)]), self.key)[0])

    def read(self, text: str, what: str = "Last-Event-ID") -> int:
        """The position a cursor (or, for plain subscribers, a number) stands for."""
        if is_sequence(text) and self.key is None:
            return sequence_number(text, what)
        if self.key is None or not text.startswith("t_"):
            expected = "an event id this stream sent you" if self.key is not None else "an event sequence number"
            raise ReadError(f"{what} {text!r} is not {expected}")
        try:
            return int(str(detokenize(pa.array([text]), self.key)[0]))
        except Exception:
            raise ReadError(f"{what} {text!r} is not an event id this stream sent you") from None

    def event_id(self, original: str) -> str:
        """The CloudEvents ``id`` shown: the stored one, or a keyed hash of it (stable, unordered)."""
        if self.key is None:
            return original
        return "e_" + hmac.new(self.key, original.encode(), hashlib.sha256).hexdigest()[:32]


def cursors_for(secret: bytes, plan: ReadPlan, stream: str) -> Cursors:
    """Plain numbers for the product's owners (``control``); opaque cursors keyed per principal and stream otherwise."""
    if plan.privileged:
        return Cursors()
    return Cursors(derive_key(secret, "tokenize", f"events:{plan.decision.principal}:{stream}", 64))


def governed_events(
    sidecar: PolicySidecar,
    product: DeployedProduct,
    principal: Principal,
    port: str,
    events: Sequence[StoredEvent],
    *,
    purpose: str = "",
    cursors: Cursors | None = None,
) -> list[tuple[str, str]]:
    """``(cursor, text)`` of a port's events as ``principal`` may see them: planned (per batch, so a
    revoked grant applies to the next one), sealed fields opened here, in the policy, then masked."""
    plan = sidecar.plan(product, principal, port, purpose=purpose)
    spec = product.output(port)
    opened = open_events(sidecar.runtime, spec, events)  # the log keeps restricted fields sealed
    return shaped_events(sidecar.secret, plan, spec, opened, cursors or Cursors())


def shaped_events(
    secret: bytes, plan: ReadPlan, port: OutputPort, events: Sequence[StoredEvent], cursors: Cursors
) -> list[tuple[str, str]]:
    """``(cursor, text)`` of the events ``plan`` lets its principal see (sealed fields already opened)."""
    rows: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
    shown: dict[int, tuple[str, str]] = {}
    for event in events:
        body = event.body
        data = body.get("data")
        if body.get("type") != ROW_EVENT or not isinstance(data, dict):
            shown[event.seq] = (cursors.show(event.seq), event.text)
        else:
            rows.append((event.seq, body, data))
    if rows:
        table = _typed(port, [d for _, _, d in rows]).append_column(_SEQ, pa.array([s for s, _, _ in rows], pa.int64()))
        keep = replace(plan, columns={**plan.columns, _SEQ: ColumnAction("keep")})
        masked = apply_plan(table, keep, secret)
        bodies = {seq: body for seq, body, _ in rows}
        names = [n for n in masked.column_names if n != _SEQ]
        for values in masked.to_pylist():
            seq = int(values.pop(_SEQ))
            body = bodies[seq]
            data = {n: json_value(values[n]) for n in names}
            text = json.dumps(
                {**body, "id": cursors.event_id(str(body.get("id"))), "data": data},
                separators=(",", ":"),
                default=str,
            )
            shown[seq] = (cursors.show(seq), text)
    return [shown[e.seq] for e in events if e.seq in shown]


def _typed(port: OutputPort, data: list[dict[str, Any]]) -> pa.Table:
    """Rows from their JSON form, typed as the port declares them (times, decimals and dates were text)."""
    schema = arrow_schema(port)
    columns = []
    for field in schema:
        values = [d.get(field.name) for d in data]
        try:
            array = pa.array(values)
            columns.append(array.cast(field.type) if array.type != field.type else array)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            # Events appended under an earlier schema of the port may not convert to today's type:
            # the column is shaped as its text rather than failing the subscriber's whole stream.
            columns.append(pa.array([None if v is None else str(v) for v in values], pa.string()))
    return pa.table(columns, names=schema.names)
