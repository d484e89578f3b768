"""Product keys (``domain/name``) to their row ids: the base every state-store part builds on."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, insert, select

from hexmesh.infra.state import schema as t
from hexmesh.infra.state.records import now_us

__all__ = ["ProductKeys"]


class ProductKeys:
    """Resolves product keys within a transaction; subclasses hold the database."""

    db: Engine

    def product_id(self, conn: Connection, key: str, *, create: bool = False) -> int | None:
        """The id of ``domain/name``, created first when ``create`` and it is new."""
        domain, name = key.split("/", 1)
        found = conn.execute(
            select(t.products.c.id).where(t.products.c.domain == domain, t.products.c.name == name)
        ).scalar()
        if found is None and create:
            found = conn.execute(
                insert(t.products).values(domain=domain, name=name, created_us=now_us())
            ).inserted_primary_key[0]  # type: ignore[index]
        return int(found) if found is not None else None
