"""A PostgreSQL database of its own for each demo workspace a test builds, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

SERVER = "postgresql://postgres@127.0.0.1:5432"


@contextmanager
def demo_database() -> Iterator[str]:
    """A URL naming a database nobody else uses (the demo creates it); dropped on exit."""
    name = f"hexmesh_test_demo_{uuid.uuid4().hex[:12]}"
    try:
        yield f"{SERVER}/{name}"
    finally:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def registrations(url: str, query: str) -> list[tuple[object, ...]]:
    """Rows of a query against the demo's registration database."""
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query).fetchall()
