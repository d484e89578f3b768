"""The statements DBeaver and Metabase send to PostgreSQL on connect, for their navigator and their
sync, taken from their public sources (clients/dbeaver.sql, clients/metabase.sql: repository,
path, commit and licence in each file's header), answer on the SQL port as PostgreSQL answers them
for a database holding the same table (the ``postgres_twin``): the same columns with the same type
OIDs, and the same values in the columns a client reads as facts (``-- rows:``), once the names
that must differ are put aside (the database's name, the caller, the server's role).

DataGrip is not here: its PostgreSQL introspection lives in JetBrains' closed database plugin, not
in intellij-community, so its statements are not public to quote.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.product.sql.conftest import Port

CLIENTS = Path(__file__).parent / "clients"


@dataclass(frozen=True)
class Statement:
    name: str
    origin: str
    params: tuple[str, ...]
    rows: tuple[str, ...]
    keep: tuple[str, tuple[str, ...]] | None  # compare only the rows whose column holds one of these
    sql: str


def statements(path: Path) -> list[Statement]:
    """The records of a statements file (its header says the format)."""
    found = []
    for record in re.split(r"^(?=-- name: )", path.read_text(encoding="utf-8"), flags=re.M)[1:]:
        head = dict(re.findall(r"^-- (\w+):[ \t]*(.*)$", record, flags=re.M))
        sql = "\n".join(line for line in record.splitlines() if not line.startswith("--")).strip()

        def listed(key: str, fields: dict[str, str] = head) -> tuple[str, ...]:
            return tuple(v.strip() for v in fields[key].split(",") if v.strip())

        keep = None
        if "keep" in head:
            column, values = head["keep"].split("=")
            keep = (column.strip(), tuple(v.strip() for v in values.split("|")))
        found.append(Statement(head["name"], head["from"], listed("params"), listed("rows"), keep, sql))
    return found


STATEMENTS = [s for f in ("dbeaver.sql", "metabase.sql") for s in statements(CLIENTS / f)]

#: Statements whose answer still differs from PostgreSQL's, with why. A new difference fails the
#: test, and so does a listed one that starts to answer as PostgreSQL does.
KNOWN: dict[str, str] = {}


@dataclass(frozen=True)
class Answer:
    columns: list[tuple[str, int]]  # the `rows:` columns: name and type OID ("<missing>", 0 when absent)
    rows: list[tuple[Any, ...]]  # their values, sorted, with the names that must differ put aside
    error: str | None = None


def _ask(con: psycopg.Connection[tuple[Any, ...]], statement: Statement) -> Answer:
    database, user = con.execute("select current_database(), current_user").fetchone() or ("", "")
    values: list[Any] = []
    for param in statement.params:
        if param == "schema":
            (oid,) = con.execute("select oid from pg_catalog.pg_namespace where nspname = 'sales'").fetchone() or (0,)
            values.append(oid)
        elif param == "database":
            values.append(database)
        else:
            values.append(param)
    sql = statement.sql.replace("%", "%%").replace("?", "%s") if values else statement.sql
    try:
        cur = con.execute(sql.encode(), values or None)
    except psycopg.Error as exc:
        return Answer([], [], f"{exc.sqlstate}: {str(exc).splitlines()[0]}")
    found = {c.name: (i, c.type_code) for i, c in reversed(list(enumerate(cur.description or [])))}
    columns = [(c, found[c][1]) if c in found else ("<missing>", 0) for c in statement.rows]
    rows = []
    for row in cur.fetchall() if cur.description and statement.rows else []:
        picked = tuple(_aside(row[found[c][0]], database, user) if c in found else None for c in statement.rows)
        if statement.keep is None or picked[statement.rows.index(statement.keep[0])] in statement.keep[1]:
            rows.append(picked)
    return Answer(columns, sorted(rows, key=repr))


def _aside(value: Any, database: str, user: str) -> Any:
    """The database's name, the caller and the server's role differ by design between the two."""
    if not isinstance(value, str):
        return value
    named = {database: "<database>", user: "<user>"}.get(value)
    # The server's role, and the zone UTC, which this PostgreSQL's configuration names Etc/UTC.
    return named or {"hexmesh": "<owner>", "postgres": "<owner>", "Etc/UTC": "UTC"}.get(value, value)


@pytest.fixture
def connections(sql: Port, postgres_twin: str) -> Iterator[tuple[psycopg.Connection[Any], psycopg.Connection[Any]]]:
    with (
        psycopg.connect(sql.dsn(), autocommit=True) as port,
        psycopg.connect(f"host=127.0.0.1 user=postgres dbname={postgres_twin}", autocommit=True) as twin,
    ):
        yield port, twin


@pytest.mark.parametrize("statement", STATEMENTS, ids=[s.name for s in STATEMENTS])
def test_answers_as_postgresql(
    connections: tuple[psycopg.Connection[Any], psycopg.Connection[Any]], statement: Statement
) -> None:
    port, twin = (_ask(con, statement) for con in connections)
    assert twin.error is None, f"the statement fails on PostgreSQL itself: {twin.error}"
    if statement.name in KNOWN:
        assert port != twin, f"{statement.name} answers as PostgreSQL now: take it off KNOWN"
        return
    assert port.error is None, f"{statement.origin}: {port.error}"
    assert port.rows == twin.rows, f"{statement.origin}: rows differ"
    assert port.columns == twin.columns, f"{statement.origin}: the columns a client reads differ"
