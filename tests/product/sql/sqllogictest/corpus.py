"""sqllogictest scripts: records, the tables their statements build, and answers rendered as the format says.

The format (SQLite's sqllogictest, ``about.wiki``): records separated by blank lines; ``statement
ok|error`` then SQL; ``query <types> [nosort|rowsort|valuesort] [label]`` then SQL, ``----`` and one
value per line, or ``N values hashing to <md5>`` when there are more than ``hash-threshold`` values.
Integers are rendered as ``%d``, reals as ``%.3f``, NULL as ``NULL``, the empty string as
``(empty)``; the hash is the MD5 of every value followed by a newline.

Two later dialects of the format are read too (``Dialect``): DuckDB's test suite writes a row per
line, its values separated by tabs (or one value per line), renders values as its engine prints
them, and adds ``foreach``/``loop`` blocks, ``mode skip``, ``require`` and labels; sqllogictest-rs
writes a row per line, its values separated by spaces, rendered as the server sends them as text.

The SQL port is read-only: a script's statements (CREATE TABLE, INSERT) are run in DuckDB here to
build its tables, which a test product then publishes; its queries go through the port. A table
therefore has one state: the one the script's first query of it reads. A statement that changes
a table already read is not run, and the queries that read that table afterwards are skipped with
why (``Query.skip``), as are those that follow a session setting or use an object the port does
not serve (a macro, a sequence, a type).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb

__all__ = ["DIALECTS", "NULL", "Dialect", "Query", "Script", "answer", "build_tables", "matches", "parse_script"]

#: The most rows a table built for a script may have (DuckDB's window tests build millions).
MAX_ROWS = 20_000
#: How the tables' CSV files write NULL (the product's sources read it back as NULL).
NULL = "\\N"
#: An expected answer given as its hash (scripts record one above their hash-threshold).
_HASHED = re.compile(r"^\d+ values hashing to [0-9a-f]{32}$")
#: The table (or view) a building statement creates, fills or changes.
_TARGET = re.compile(
    r"^\s*(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP(?:ORARY)?\s+)?(?:UNIQUE\s+)?(?:TABLE|VIEW|INDEX\s+\w+\s+ON)"
    r"(?:\s+IF\s+NOT\s+EXISTS)?|INSERT\s+(?:OR\s+\w+\s+)?INTO|DROP\s+(?:TABLE|VIEW)(?:\s+IF\s+EXISTS)?"
    r"|UPDATE|DELETE\s+FROM|ALTER\s+TABLE|TRUNCATE(?:\s+TABLE)?)\s+(\w+)",
    re.I,
)
#: The tables a query or statement reads.
_TABLES = re.compile(r"\b(?:FROM|JOIN)\s+(\w+)", re.I)
#: Objects a script may create that the port does not serve: only tables are published.
_OBJECT = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP(?:ORARY)?\s+)?(MACRO|FUNCTION|SEQUENCE|TYPE)\s+(\w+)", re.I
)
#: Session settings; the port's session does not take DuckDB's. Those that only choose how DuckDB
#: executes (threads, optimizers, spilling, verification) leave the answers as they are.
_SETTING = re.compile(r"^\s*(?:SET|RESET|PRAGMA)\b", re.I)
_EXECUTION = re.compile(
    r"^\s*(?:SET|RESET|PRAGMA)\s+(?:SESSION\s+)?(?:\w*verif\w*|debug_\w+|threads|explain_output|enable_optimizer"
    r"|disable_optimizer|disabled_optimizers|dynamic_or_filter_threshold|delim_join_as_cte|profiling\w*"
    r"|pivot_filter_threshold|memory_limit|enable_profiling)\b",
    re.I,
)
#: A PostgreSQL array of plain values, as text (no quoting, no nesting).
_ARRAY = re.compile(r"\{[^{}\"\\]*\}")
#: DuckDB's ``foreach`` type groups.
_GROUPS = {
    "<signed>": "tinyint smallint integer bigint hugeint",
    "<unsigned>": "utinyint usmallint uinteger ubigint uhugeint",
    "<integral>": "tinyint smallint integer bigint hugeint utinyint usmallint uinteger ubigint uhugeint",
    "<numeric>": "tinyint smallint integer bigint hugeint utinyint usmallint uinteger ubigint uhugeint float double",
}


@dataclass(frozen=True)
class Dialect:
    """How a corpus writes its records and answers."""

    name: str
    engine: str  # the name its skipif/onlyif give the engine the port stands for
    separator: str | None  # None: one value per line (SQLite); else a row per line, values split by it
    text: bool  # values compared as the server's text (DuckDB, sqllogictest-rs), or rendered as SQLite does


DIALECTS = {
    "sqlite": Dialect("sqlite", "postgresql", None, text=False),
    "duckdb": Dialect("duckdb", "postgresql", "\t", text=True),
    "rs": Dialect("rs", "postgres", " ", text=True),
}


@dataclass(frozen=True)
class Query:
    line: int
    sql: str
    types: str
    sort: str
    expected: tuple[str, ...]  # the values (or rows), or ("<n> values hashing to <md5>",)
    expects: str = "rows"  # "rows" (a query record), or a statement record's "ok" or "error"
    skip: str | None = None  # why the port cannot run it as the script means it


@dataclass
class Script:
    path: Path
    dialect: Dialect = DIALECTS["sqlite"]
    statements: list[str] = field(default_factory=list)  # they build the tables, in DuckDB
    queries: list[Query] = field(default_factory=list)
    hash_threshold: int = 0
    later_statements: int = 0  # statements changing tables already queried: a read-only port cannot run them
    queried_tables: set[str] = field(default_factory=set)
    stale: set[str] = field(default_factory=set)  # tables changed after a query read them
    objects: set[str] = field(default_factory=set)  # macros, sequences, types the script creates
    setting: str | None = None  # the first session setting the script makes
    labels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    unpublished: dict[str, str] = field(default_factory=dict)  # tables built but not published, with why

    @property
    def name(self) -> str:
        return self.path.stem


def parse_script(path: Path, dialect: Dialect = DIALECTS["sqlite"]) -> Script:
    """The script's records that apply to PostgreSQL (skipif/onlyif), up to a ``halt``."""
    script = Script(path, dialect)
    lines = _expand(path.read_text(encoding="utf-8").splitlines())
    skipping = False
    i = 0
    while i < len(lines):
        start, record = lines[i][0], []
        while i < len(lines) and lines[i][1].strip():
            if not lines[i][1].startswith("#"):
                record.append(lines[i][1])
            i += 1
        i += 1
        if not record:
            continue
        if record[0].split()[:1] == ["mode"]:
            skipping = {"skip": True, "unskip": False}.get(record[0].split()[1], skipping)
            continue
        if record[0].strip() == "halt" and _applies(record, dialect):
            break
        if not skipping and _applies(record, dialect):
            _add(script, [line for line in record if not line.startswith(("skipif", "onlyif"))], start)
    return script


def _expand(lines: list[str]) -> list[tuple[int, str]]:
    """Lines numbered as in the file, DuckDB's ``foreach``/``loop`` blocks unrolled."""
    numbered = list(enumerate(lines, 1))
    out: list[tuple[int, str]] = []
    i = 0
    while i < len(numbered):
        words = numbered[i][1].split()
        if words[:1] in (["foreach"], ["loop"]):
            depth, j = 1, i + 1
            while j < len(numbered) and depth:
                first = numbered[j][1].split()[:1]
                depth += {"foreach": 1, "loop": 1, "endloop": -1}.get(first[0] if first else "", 0)
                j += 1
            body = _expand([text for _, text in numbered[i + 1 : j - 1]])
            if words[0] == "loop":
                values = [str(v) for v in range(int(words[2]), int(words[3]))]
            else:
                values = [v for w in words[2:] for v in _GROUPS.get(w, w).split()]
            for value in values:
                for k, text in body:
                    out.append(
                        (
                            numbered[i][0] + k,
                            text.replace("${" + words[1] + "}", value).replace("{" + words[1] + "}", value),
                        )
                    )
                out.append((numbered[j - 1][0], ""))
            i = j
        else:
            out.append(numbered[i])
            i += 1
    return out


def _applies(record: list[str], dialect: Dialect) -> bool:
    for line in record:
        words = line.split()
        if words[:1] == ["skipif"] and words[1] == dialect.engine:
            return False
        if words[:1] == ["onlyif"] and words[1] != dialect.engine:
            return False
        if words[:1] not in (["skipif"], ["onlyif"]):
            break
    return True


def _add(script: Script, record: list[str], line: int) -> None:
    head = record[0].split()
    if head[0] == "hash-threshold":
        script.hash_threshold = int(head[1])
    elif head[0] == "statement":
        body = record[1:]
        sql = "\n".join(body[: body.index("----")] if "----" in body else body)
        if re.match(r"^\s*(SELECT|WITH|VALUES|FROM)\b", sql, re.I):
            # A read that must fail (or succeed): the port runs it like a query.
            script.queries.append(_query(script, Query(line, sql, "", "nosort", (), expects=head[1])))
        elif head[1] == "ok":
            _statement(script, sql)
    elif head[0] == "query":
        body = record[1:]
        cut = body.index("----") if "----" in body else len(body)
        sql = "\n".join(body[:cut])
        if head[1] == "error":
            script.queries.append(_query(script, Query(line, sql, "", "nosort", (), expects="error")))
            return
        sort = head[2] if len(head) > 2 else "nosort"
        expected = tuple(body[cut + 1 :])
        if len(head) > 3:  # a label: a query without an answer must answer as the first with the label did
            expected = script.labels.setdefault(head[3], expected) if cut == len(body) else expected
            script.labels.setdefault(head[3], expected)
        script.queries.append(_query(script, Query(line, sql, head[1], sort, expected)))
        script.queried_tables |= {t.lower() for t in _TABLES.findall(sql)}


def _statement(script: Script, sql: str) -> None:
    target = _TARGET.match(sql)
    made = _OBJECT.match(sql)
    reads = {t.lower() for t in _TABLES.findall(sql)}
    if made is not None:
        script.objects.add(made.group(2).lower())
    if _SETTING.match(sql):
        if not _EXECUTION.match(sql) and script.setting is None:
            script.setting = sql.strip().splitlines()[0]
        return
    if target is None:
        if script.queries and not made:
            script.later_statements += 1
        else:
            script.statements.append(sql)
        return
    table = target.group(1).lower()
    if table in script.queried_tables or reads & script.stale:
        # It would change what earlier queries read: not on a read-only port.
        script.later_statements += 1
        script.stale.add(table)
    else:
        script.statements.append(sql)


def _query(script: Script, query: Query) -> Query:
    names = {w.lower() for w in re.findall(r"\w+", query.sql)}
    tables = {t.lower() for t in _TABLES.findall(query.sql)}
    why = None
    if script.setting is not None:
        why = f"follows the script's session setting `{script.setting}`, which the port's session does not take"
    elif tables & script.stale:
        why = "reads a table the script changes after reading it: a read-only port serves one state"
    elif names & script.objects:
        why = "uses a macro, sequence or type the script creates: the port serves tables only"
    if why is None:
        return query
    return Query(query.line, query.sql, query.types, query.sort, query.expected, query.expects, why)


def build_tables(script: Script, folder: Path) -> dict[str, list[tuple[str, str]]]:
    """Run the script's statements in DuckDB; write each table (and view) to ``folder/<table>.csv``.

    Returns each table's columns as (name, logical type) for the product's spec; a table with a
    column of a type the product cannot declare (lists, structs, intervals) is left out.
    """
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    for statement in script.statements:
        try:
            con.execute(statement)
        except duckdb.Error:
            if script.dialect.name == "sqlite":
                raise
            # DuckDB's scripts also check statements it refuses; such a one builds nothing.
    tables: dict[str, list[tuple[str, str]]] = {}
    found = con.execute(
        "select table_name from duckdb_tables() union select view_name from duckdb_views() where not internal "
        "order by 1"
    ).fetchall()
    for (table,) in found:
        columns = con.execute(
            "select column_name, data_type from duckdb_columns() where table_name = ? order by column_index", [table]
        ).fetchall()
        kinds = [_logical(kind) for _, kind in columns]
        names = [table, *(name for name, _ in columns)]
        (count,) = con.execute(f'select count(*) from "{table}"').fetchone() or (0,)
        if None in kinds:
            kind = next(k for (_, k), lk in zip(columns, kinds, strict=True) if lk is None)
            script.unpublished[table] = f"a column of type {kind}, which this test's CSV-fed products do not declare"
        elif not all(re.fullmatch(r"[a-z_][a-z0-9_]*", n) for n in names):
            script.unpublished[table] = "a name that is not a lower-case SQL identifier"
        elif count > MAX_ROWS:
            script.unpublished[table] = f"{count:,} rows: more than this test's products publish ({MAX_ROWS:,})"
        if not columns or table in script.unpublished:
            continue
        tables[table] = [(name, kind) for (name, _), kind in zip(columns, kinds, strict=True) if kind]
        rows = con.execute(f'select * from "{table}"').fetchall()
        lines = [",".join(f'"{name}"' for name, _ in columns), *(",".join(map(_field, row)) for row in rows)]
        (folder / f"{table}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    con.close()
    return tables


def _field(value: object) -> str:
    """A CSV field: NULL as ``\\N`` (the source's nullValues), text always quoted so '' stays ''."""
    if value is None:
        return NULL
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _logical(kind: str) -> str | None:
    if kind in ("INTEGER", "BIGINT", "SMALLINT", "TINYINT", "UTINYINT", "USMALLINT", "UINTEGER"):
        return "integer"
    if kind in ("DOUBLE", "FLOAT", "REAL"):
        return "number"
    if decimal := re.fullmatch(r"DECIMAL\((\d+),(\d+)\)", kind):
        return f"decimal, precision: {decimal.group(1)}, scale: {decimal.group(2)}"
    if kind == "VARCHAR":
        return "string"
    return {"BOOLEAN": "boolean", "DATE": "date"}.get(kind)


def answer(query: Query, rows: list[tuple[object, ...]], hash_threshold: int) -> tuple[str, ...]:
    """The rows rendered, sorted and hashed as the query's record asks (SQLite's rendering)."""
    rendered = [[_render(value, kind) for value, kind in zip(row, query.types, strict=False)] for row in rows]
    return _shaped(query, rendered, hash_threshold)


def matches(query: Query, rows: list[list[str | None]], hash_threshold: int, dialect: Dialect) -> bool:
    """Whether text rows (None for NULL) answer as a DuckDB or sqllogictest-rs record says.

    Values compare as text, or as numbers when both are numbers (``1.0`` is ``1``; a real, type
    ``R``, to a 1e-6 relative tolerance); booleans and plain arrays as DuckDB's runner reads them
    (``1`` is true, ``{b,f}`` is ``[b, f]``).
    """
    rendered = [["NULL" if v is None else "(empty)" if v == "" else v for v in row] for row in rows]
    if dialect.name == "rs":
        got = [" ".join(row) for row in rendered]
        expected = [" ".join(line.split()) for line in query.expected]
        if query.sort == "rowsort":
            got, expected = sorted(got), sorted(expected)
        return got == expected
    got_values = _shaped(query, rendered, hash_threshold)
    if len(got_values) == 1 and _HASHED.match(got_values[0]):
        return got_values == query.expected
    want = [v for line in query.expected for v in line.split(dialect.separator)]
    if query.sort == "rowsort" and rendered and len(want) % len(rendered[0]) == 0:
        width = len(rendered[0])
        want = [v for row in sorted(want[k : k + width] for k in range(0, len(want), width)) for v in row]
    elif query.sort == "valuesort":
        want.sort()
    reals = query.types * (len(got_values) // max(1, len(query.types)))
    return len(want) == len(got_values) and all(
        _same(g, w, kind == "R") for g, w, kind in zip(got_values, want, reals or "T" * len(want), strict=False)
    )


def _same(got: str, want: str, real: bool) -> bool:
    # DuckDB's runner casts its expected text to the answer's type: 1 is true, 0 is false.
    if got == want or {got, want} <= {"true", "1"} or {got, want} <= {"false", "0"}:
        return True
    if _ARRAY.fullmatch(got) and want.startswith("["):  # a PostgreSQL array is DuckDB's list, printed otherwise
        return "[" + ", ".join(v for v in got[1:-1].split(",") if got != "{}") + "]" == want
    try:
        g, w = Decimal(got), Decimal(want)
    except InvalidOperation:
        return False
    if g == w:
        return True
    return real and abs(g - w) <= Decimal("1e-6") * max(abs(g), abs(w))


def _shaped(query: Query, rendered: list[list[str]], hash_threshold: int) -> tuple[str, ...]:
    if query.sort == "rowsort":
        rendered = sorted(rendered)
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
