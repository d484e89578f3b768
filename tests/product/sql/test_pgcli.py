"""pgcli, driven as a user drives it: its completion metadata and its backslash commands (pgspecial)
answer on the SQL port as they answer on PostgreSQL holding the same table."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pgcli.pgexecute import PGExecute
from pgspecial.main import PGSpecial

from tests.product.sql.conftest import Port


def _pgcli(port: int, user: str, database: str) -> PGExecute:
    return PGExecute(database=database, user=user, password="x", host="127.0.0.1", port=port, sslmode="disable")


@pytest.fixture
def both(sql: Port, postgres_twin: str) -> Iterator[tuple[PGExecute, PGExecute]]:
    port, twin = _pgcli(sql.port, "analyst", "mesh"), _pgcli(5432, "postgres", postgres_twin)
    yield port, twin
    port.conn.close()
    twin.conn.close()


def _in_sales(rows: Any) -> list[tuple[Any, ...]]:
    return sorted(tuple(r) for r in rows if r[0] == "sales")


def test_completion_metadata_matches_postgresql(both: tuple[PGExecute, PGExecute]) -> None:
    port, twin = both
    # The relations and columns pgcli completes (relkind = ANY(%s) with a list parameter).
    assert _in_sales(port.tables()) == _in_sales(twin.tables()) == [("sales", "orders__orders")]
    assert _in_sales(port.table_columns()) == _in_sales(twin.table_columns())
    assert ("sales", "orders__orders", "ordered_at", "timestamp with time zone", False, None) in _in_sales(
        port.table_columns()
    )
    assert "sales" in list(port.schemata())
    assert port.databases() == ["mesh"]  # the database the client connected to
    assert list(port.foreignkeys()) == list(twin.foreignkeys()) == []
    # The function list (regtype[] casts, 'trigger'::regtype) and the casing query (pg_language,
    # a CTE column named count) answer rather than fail; what they list is the engine's own.
    functions = list(port.functions())
    assert functions and all(f.return_type for f in functions)
    assert list(port.casing()) == list(twin.casing()) == []
    assert port.get_timezone() == "UTC"


@pytest.mark.parametrize(
    "command", ["\\dt sales.*", "\\d sales.orders__orders", "\\di sales.*", "\\dv", "\\df sales.*"]
)
def test_backslash_commands_match_postgresql(both: tuple[PGExecute, PGExecute], command: str) -> None:
    port, twin = both
    special = PGSpecial()

    def answer(executor: PGExecute) -> list[tuple[Any, ...]]:
        (result,) = list(executor.run(command, pgspecial=special))
        rows = result[1]
        # The owner is the server's role: hexmesh on the port, the twin's superuser there.
        return [tuple("<owner>" if v in ("hexmesh", "postgres") else v for v in row) for row in rows or []]

    assert answer(port) == answer(twin)
