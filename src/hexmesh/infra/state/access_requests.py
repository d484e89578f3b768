"""Stored access requests: one row per request, its status changed only from the status it was read in.

What a valid request is, who may decide it and what a grant allows are the policy's
(:mod:`hexmesh.governance.grants`, :mod:`hexmesh.product.policy.requests`); rows here are plain
mappings of the table's columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, insert, select, update

from hexmesh.infra.state.schema import access_requests

__all__ = ["access_requests", "insert_request", "request_row", "request_rows", "update_request"]


def insert_request(db: Engine, row: Mapping[str, Any]) -> None:
    with db.begin() as conn:
        conn.execute(insert(access_requests).values(**row))


def request_row(db: Engine, request_id: str) -> dict[str, Any] | None:
    with db.connect() as conn:
        row = conn.execute(select(access_requests).where(access_requests.c.id == request_id)).first()
    return None if row is None else dict(row._mapping)


def update_request(db: Engine, request_id: str, status: str, values: Mapping[str, Any]) -> bool:
    """Change the row of ``request_id`` if it is still in ``status``; False when another writer moved it first."""
    with db.begin() as conn:
        changed = conn.execute(
            update(access_requests)
            .where(access_requests.c.id == request_id, access_requests.c.status == status)
            .values(**values)
        ).rowcount
    return bool(changed)


def request_rows(db: Engine, *, product: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    """Rows, newest first."""
    stmt = select(access_requests).order_by(access_requests.c.requested_us.desc())
    if product is not None:
        stmt = stmt.where(access_requests.c.product == product)
    if status is not None:
        stmt = stmt.where(access_requests.c.status == status)
    with db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]
