"""sqllogictest scripts: records, the tables their statements build, and answers rendered as the format says.

The format (SQLite's sqllogictest, ``about.wiki``): records separated by blank lines; ``statement
ok|error`` then SQL; ``query <types> [nosort|rowsort|valuesort] [label]`` then SQL, ``----`` and one
value per line, or ``N values hashing to <md5>`` when there are more than ``hash-threshold`` values.
Integers are rendered as ``%d``, reals as ``%.3f``, NULL as ``NULL``, the empty string as
``(empty)``; the hash is the MD5 of every value followed by a newline.

The SQL port is read-only: a script's statements (CREATE TABLE, INSERT) are run in DuckDB here to
build its tables, which a test product then publishes; its queries go through the port.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb

__all__ = ["NULL", "Query", "Script", "answer", "build_tables", "parse_script"]

#: The engine a script's conditionals name for us: the port answers as PostgreSQL.
ENGINE = "postgresql"
#: How the tables' CSV files write NULL (the product's sources read it back as NULL).
NULL = "\\N"
#: An expected answer given as its hash (scripts record one above their hash-threshold).
_HASHED = re.compile(r"^\d+ values hashing to [0-9a-f]{32}$")
#: The table a building statement creates or fills, and the tables a query names.
_TARGET = re.compile(r"^\s*(?:CREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX\s+\w+\s+ON)|INSERT\s+INTO)\s+(\w+)", re.I)
_TABLES = re.compile(r"\b(?:FROM|JOIN)\s+(\w+)", re.I)


@dataclass(frozen=True)
class Query:
    line: int
    sql: str
    types: str
    sort: str
    expected: tuple[str, ...]  # the values, or ("<n> values hashing to <md5>",)
    expects: str = "rows"  # "rows" (a query record), or a statement record's "ok" or "error"


@dataclass
class Script:
    path: Path
    statements: list[str] = field(default_factory=list)  # before the first query: they build the tables
    queries: list[Query] = field(default_factory=list)
    hash_threshold: int = 0
    later_statements: int = 0  # statements changing tables already queried: a read-only port cannot run them
    queried_tables: set[str] = field(default_factory=set)


def parse_script(path: Path) -> Script:
    """The script's records that apply to PostgreSQL (skipif/onlyif), up to a ``halt``."""
    script = Script(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        start = i
        record: list[str] = []
        while i < len(lines) and lines[i].strip():
            if not lines[i].startswith("#"):
                record.append(lines[i])
            i += 1
        i += 1
        if record and _applies(record):
            _add(script, [line for line in record if not line.startswith(("skipif", "onlyif"))], start + 1)
        if record and record[0].strip() == "halt" and _applies(record):
            break
    return script


def _applies(record: list[str]) -> bool:
    for line in record:
        words = line.split()
        if words[:1] == ["skipif"] and words[1] == ENGINE:
            return False
        if words[:1] == ["onlyif"] and words[1] != ENGINE:
            return False
        if words[:1] not in (["skipif"], ["onlyif"]):
            break
    return True


def _add(script: Script, record: list[str], line: int) -> None:
    head = record[0].split()
    if head[0] == "hash-threshold":
        script.hash_threshold = int(head[1])
    elif head[0] == "statement" and re.match(r"^\s*(SELECT|WITH|VALUES)\b", record[1], re.I):
        # A read that must fail (or succeed): the port runs it like a query.
        script.queries.append(Query(line, "\n".join(record[1:]), "", "nosort", (), expects=head[1]))
    elif head[0] == "statement":
        sql = "\n".join(record[1:])
        target = _TARGET.match(sql)
        if script.queries and (target is None or target.group(1).lower() in script.queried_tables):
            script.later_statements += 1  # it would change what earlier queries read: not on a read-only port
        else:
            script.statements.append(sql)
    elif head[0] == "query":
        body = record[1:]
        cut = body.index("----") if "----" in body else len(body)
        sort = head[2] if len(head) > 2 else "nosort"
        query = Query(line, "\n".join(body[:cut]), head[1], sort, tuple(body[cut + 1 :]))
        script.queries.append(query)
        script.queried_tables |= {t.lower() for t in _TABLES.findall(query.sql)}


def build_tables(script: Script, folder: Path) -> dict[str, list[tuple[str, str]]]:
    """Run the script's statements in DuckDB; write each table to ``folder/<table>.csv``.

    Returns each table's columns as (name, logical type) for the product's spec.
    """
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    for statement in script.statements:
        con.execute(statement)
    tables: dict[str, list[tuple[str, str]]] = {}
    for (table,) in con.execute("select table_name from duckdb_tables() order by 1").fetchall():
        columns = con.execute(
            "select column_name, data_type from duckdb_columns() where table_name = ? order by column_index", [table]
        ).fetchall()
        tables[table] = [(name, _logical(kind)) for name, kind in columns]
        rows = con.execute(f'select * from "{table}"').fetchall()
        lines = [",".join(name for name, _ in columns), *(",".join(map(_field, row)) for row in rows)]
        (folder / f"{table}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    con.close()
    return tables


def _field(value: object) -> str:
    """A CSV field: NULL as ``\\N`` (the source's nullValues), text always quoted so '' stays ''."""
    if value is None:
        return NULL
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    return str(value)


def _logical(kind: str) -> str:
    if kind in ("INTEGER", "BIGINT", "SMALLINT", "TINYINT"):
        return "integer"
    if kind in ("DOUBLE", "FLOAT", "REAL") or kind.startswith("DECIMAL"):
        return "number"
    return "string"


def answer(query: Query, rows: list[tuple[object, ...]], hash_threshold: int) -> tuple[str, ...]:
    """The rows rendered, sorted and hashed as the query's record asks."""
    rendered = [[_render(value, kind) for value, kind in zip(row, query.types, strict=False)] for row in rows]
    if query.sort == "rowsort":
        rendered.sort()
    values = [v for row in rendered for v in row]
    if query.sort == "valuesort":
        values.sort()
    hashed = len(query.expected) == 1 and _HASHED.match(query.expected[0]) is not None
    if hashed or (hash_threshold and len(values) > hash_threshold):
        digest = hashlib.md5("".join(v + "\n" for v in values).encode(), usedforsecurity=False).hexdigest()
        return (f"{len(values)} values hashing to {digest}",)
    return tuple(values)


def _render(value: object, kind: str) -> str:
    if value is None:
        return "NULL"
    if kind == "I":  # booleans as the integers they mean (PostgreSQL answers IN with one, SQLite with 0/1)
        return str(int(value)) if isinstance(value, (int, float, Decimal)) else "0"
    if kind == "R":
        return f"{float(value):.3f}" if isinstance(value, (int, float, Decimal)) else "0.000"
    text = str(value)
    return "(empty)" if text == "" else re.sub(r"[\x00-\x1f\x7f]", "@", text)
