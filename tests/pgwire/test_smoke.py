"""Quick end-to-end checks with psycopg 3."""

from __future__ import annotations

import psycopg

from .conftest import ServerThread


def test_select_one(duck: ServerThread) -> None:
    with psycopg.connect(duck.dsn(), autocommit=True) as conn:
        assert conn.execute("select 1 as x, 'a' as y").fetchall() == [(1, "a")]
        assert conn.execute("select %s::int + 1", [41]).fetchone() == (42,)
