"""Scripts through the SQL port: their tables published by test products, their queries sent as a
client sends them, each answer judged as the script's dialect says (``corpus``)."""

from __future__ import annotations

import re
import textwrap
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import pq

from hexmesh.errors import HexmeshError
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
from hexmesh.product.sql import start_sql_port
from tests.product.sql.conftest import Loop, Port
from tests.product.sql.sqllogictest.corpus import NULL, Query, Script, answer, build_tables, matches

__all__ = ["Outcome", "served", "summary"]

_TABLES = re.compile(r"\b(?:FROM|JOIN)\s+(\w+)", re.I)


@dataclass(frozen=True)
class Outcome:
    script: str
    query: Query
    got: tuple[str, ...] | None
    error: str | None
    passed_text: bool | None = None  # the judgement of a dialect that compares text (DuckDB, rs)
    skipped: str | None = None

    @property
    def key(self) -> tuple[str, int]:
        return self.script, self.query.line

    @property
    def passed(self) -> bool:
        if self.skipped is not None:
            return False
        if self.query.expects == "error":
            return self.error is not None
        if self.query.expects == "ok":
            return self.error is None
        if self.passed_text is not None:
            return self.error is None and self.passed_text
        return self.error is None and self.got == self.query.expected

    @property
    def category(self) -> str:
        if self.skipped is not None:
            return "skipped"
        if self.passed:
            return "pass"
        if self.query.expects == "error":
            return "no error"
        if self.error is not None:
            return "error " + self.error.split(":", 1)[0]
        return "wrong answer"


def product_folder(script: Script, root: Path, key: str) -> Path | None:
    """A product publishing the script's tables under its own SQL schema ``key`` (``sqlName`` = the table)."""
    folder = root / key
    tables = build_tables(script, folder / "data")
    if not tables:
        return None
    source = f"format: csv, nullValues: ['{NULL}']"
    inputs = "".join(f"  - {{name: '{t}', source: {{{source}, path: data/{t}.csv}}}}\n" for t in tables)
    outputs = ""
    for table, columns in tables.items():
        fields = "".join(f"      - {{name: '{c}', logicalType: {kind}}}\n" for c, kind in columns)
        outputs += f"  - name: '{table}'\n    sqlName: '{table}'\n    mode: replace\n    properties:\n{fields}"
        (folder / f"{table}.sql").write_text(f"select * from {table}\n", encoding="utf-8")
    files = ", ".join(f"{table}: {table}.sql" for table in tables)
    (folder / "dataproduct.yaml").write_text(
        textwrap.dedent(f"""\
            domain: slt
            name: {key.replace("_", "-")}
            version: 1.0.0
            owner: slt@example.com
            description: The tables of sqllogictest's {script.path.name}.
            sqlSchema: {key}
            """)
        + f"inputPorts:\n{inputs}transformation:\n  sql: {{{files}}}\noutputPorts:\n{outputs}",
        encoding="utf-8",
    )
    return folder


def run_script(port: Port, script: Script, schema: str) -> list[Outcome]:
    outcomes = []
    with psycopg.connect(port.dsn(), autocommit=True) as con:
        con.execute(f"SET search_path = {schema}")
        for query in script.queries:
            unpublished = {t.lower() for t in _TABLES.findall(query.sql)} & set(script.unpublished)
            if query.skip or unpublished:
                why = query.skip or f"reads a table with {script.unpublished[unpublished.pop()]}"
                outcomes.append(Outcome(schema, query, None, None, skipped=why))
            elif script.dialect.text:
                outcomes.append(_as_text(con, script, schema, query))
            else:
                try:
                    rows = con.execute(query.sql.encode()).fetchall()
                except psycopg.Error as exc:
                    state = exc.sqlstate or "?"
                    outcomes.append(Outcome(schema, query, None, f"{state}: {str(exc).splitlines()[0]}"))
                    continue
                outcomes.append(Outcome(schema, query, answer(query, rows, script.hash_threshold), None))
    return outcomes


def _as_text(con: psycopg.Connection[tuple[object, ...]], script: Script, schema: str, query: Query) -> Outcome:
    """The answer as the server's text (the simple query protocol), as DuckDB's and rs's runners read it."""
    result = con.pgconn.exec_(query.sql.encode())
    if result.status == pq.ExecStatus.FATAL_ERROR:
        state = (result.error_field(pq.DiagnosticField.SQLSTATE) or b"?").decode()
        message = (result.error_field(pq.DiagnosticField.MESSAGE_PRIMARY) or b"").decode()
        return Outcome(schema, query, None, f"{state}: {message}")
    booleans = {c for c in range(result.nfields) if result.ftype(c) == 16}
    rows: list[list[str | None]] = []
    for r in range(result.ntuples):
        row = []
        for c in range(result.nfields):
            raw = result.get_value(r, c)
            text = None if raw is None else raw.decode()
            # DuckDB prints booleans as true/false; sqllogictest-rs keeps PostgreSQL's t/f.
            duck = c in booleans and script.dialect.name == "duckdb"
            row.append({"t": "true", "f": "false"}.get(text or "", text) if duck else text)
        rows.append(row)
    got = tuple("\t".join("NULL" if v is None else v for v in row) for row in rows)
    return Outcome(schema, query, got, None, passed_text=matches(query, rows, script.hash_threshold, script.dialect))


@contextmanager
def served(scripts: dict[str, Script], root: Path, loop: Loop) -> Iterator[list[Outcome]]:
    """Every script's queries answered by one port over one workspace; scripts keyed by their SQL schema."""
    workspace = Workspace(Settings.defaults(root / "ws"))
    try:
        folders = {key: product_folder(script, root, key) for key, script in scripts.items()}
        workspace.deploy([f for f in folders.values() if f is not None])
        for key, folder in folders.items():
            if folder is not None:
                try:
                    workspace.run(f"slt/{key.replace('_', '-')}")
                except HexmeshError as exc:  # its queries are skipped, saying why
                    why = f"a product that did not run ({type(exc).__name__})"
                    scripts[key].unpublished.update(dict.fromkeys(scripts[key].queried_tables, why))
        port = Port(loop.run(start_sql_port(workspace, "127.0.0.1", 0)), loop.loop, [])
        try:
            yield [o for key, script in scripts.items() for o in run_script(port, script, key)]
        finally:
            loop.run(port.server.close())
    finally:
        workspace.close()


def summary(outcomes: list[Outcome]) -> Counter[str]:
    return Counter(o.category for o in outcomes)
