"""State-store records of the product lifecycle: major states, consumer notices, input pins.

A mixin of :class:`~hexmesh.infra.state.store.StateStore`, kept apart so the store's core
(products, versions, runs, publications, locks) stays readable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, insert, select, update

from hexmesh.infra.state import schema as t
from hexmesh.infra.state.product_ids import ProductKeys
from hexmesh.infra.state.records import MajorState, Notice, now_us

__all__ = ["LifecycleRecords"]


#: Built once: the SQL port asks on every connect and every statement that reads a port table.
_RETIRED = (
    select(t.products.c.domain, t.products.c.name, t.majors.c.major)
    .join(t.products, t.products.c.id == t.majors.c.product_id)
    .where(t.majors.c.status == "retired")
)


class LifecycleRecords(ProductKeys):
    """Majors' lifecycle states, notices to consumers, and the upstream major of each input."""

    # -- major states ------------------------------------------------------------------------

    def set_major_state(self, conn: Connection, state: MajorState) -> None:
        """Record (or replace) the lifecycle state of one major."""
        product_id = self.product_id(conn, state.product, create=True)
        values: dict[str, Any] = {
            "status": state.status,
            "sunset": state.sunset,
            "successor": state.successor,
            "reason": state.reason,
            "updated_us": state.updated_us or now_us(),
            "details": state.details,
        }
        where = (t.majors.c.product_id == product_id) & (t.majors.c.major == state.major)
        if conn.execute(select(t.majors.c.id).where(where)).first() is None:
            conn.execute(insert(t.majors).values(product_id=product_id, major=state.major, **values))
        else:
            conn.execute(update(t.majors).where(where).values(**values))

    def major_state(self, key: str, major: int) -> MajorState:
        """The lifecycle state of ``key`` major ``major``; ``active`` when nothing was recorded."""
        return self.major_states(key).get(major, MajorState(key, major))

    def major_states(self, key: str | None = None) -> dict[int, MajorState]:
        """Recorded states of one product's majors (or of every product, keyed by major)."""
        query = select(t.majors, t.products.c.domain, t.products.c.name).join(
            t.products, t.products.c.id == t.majors.c.product_id
        )
        if key is not None:
            domain, name = key.split("/", 1)
            query = query.where(t.products.c.domain == domain, t.products.c.name == name)
        with self.db.connect() as conn:
            return {
                row.major: MajorState(
                    f"{row.domain}/{row.name}",
                    row.major,
                    row.status,
                    row.sunset,
                    row.successor,
                    row.reason,
                    row.updated_us,
                    row.details or {},
                )
                for row in conn.execute(query)
            }

    def retired(self) -> set[tuple[str, int]]:
        """Every retired (product, major)."""
        with self.db.connect() as conn:
            return {(f"{r.domain}/{r.name}", r.major) for r in conn.execute(_RETIRED)}

    # -- notices ------------------------------------------------------------------------------

    def add_notice(self, conn: Connection, consumer: str, upstream: str, major: int, kind: str, message: str) -> None:
        conn.execute(
            insert(t.notices).values(
                consumer_id=self.product_id(conn, consumer, create=True),
                upstream=upstream,
                major=major,
                kind=kind,
                message=message,
                created_us=now_us(),
            )
        )

    def notices(self, consumer: str | None = None) -> list[Notice]:
        """Notices, oldest first (to one consumer, or to all)."""
        query = (
            select(t.notices, t.products.c.domain, t.products.c.name)
            .join(t.products, t.products.c.id == t.notices.c.consumer_id)
            .order_by(t.notices.c.created_us, t.notices.c.id)
        )
        if consumer is not None:
            domain, name = consumer.split("/", 1)
            query = query.where(t.products.c.domain == domain, t.products.c.name == name)
        with self.db.connect() as conn:
            return [
                Notice(r.id, f"{r.domain}/{r.name}", r.upstream, r.major, r.kind, r.message, r.created_us)
                for r in conn.execute(query)
            ]

    # -- pins ---------------------------------------------------------------------------------

    def set_pins(self, conn: Connection, key: str, version: str, pins: Mapping[str, tuple[str, int]]) -> None:
        """Record, for one deployed version, the upstream (key, major) each input port reads."""
        product_id = self.product_id(conn, key, create=True)
        for port, (upstream, major) in pins.items():
            conn.execute(
                insert(t.pins).values(product_id=product_id, version=version, port=port, upstream=upstream, major=major)
            )

    def pins(self, key: str, version: str) -> dict[str, tuple[str, int]]:
        """Input port → (upstream key, major) recorded when ``key`` ``version`` was deployed."""
        domain, name = key.split("/", 1)
        query = (
            select(t.pins.c.port, t.pins.c.upstream, t.pins.c.major)
            .join(t.products, t.products.c.id == t.pins.c.product_id)
            .where(t.products.c.domain == domain, t.products.c.name == name, t.pins.c.version == version)
        )
        with self.db.connect() as conn:
            return {r.port: (r.upstream, r.major) for r in conn.execute(query)}
