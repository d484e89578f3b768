"""The embedded engine (the default): DuckDB in process, scanning Parquet files with bounded memory.

Inputs are read by DuckDB's own Parquet scan, never loaded into Python first; a query's result
streams to Parquet batch by batch. ``memory_limit`` bounds DuckDB's memory, and what does not
fit spills to the spill folder. The connection is locked down like every DuckDB hexmesh opens
(infra/compute/duckdb.py), except that it may read the run's input folder: the only files there
are the run's own inputs (hard links to the pinned data files, or files hexmesh staged).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb
import pyarrow.parquet as pq

from hexmesh.errors import TransformError
from hexmesh.infra.compute.duckdb import LOCKDOWN, SqlError, failure, located
from hexmesh.infra.compute.engine import ComputeJob, ParquetInput, RunFolder, SqlText, StagedOutput

__all__ = ["EmbeddedEngine"]

#: Statements a transformation may run: queries, and in-memory tables or macros they build on.
#: Anything that reaches outside (COPY, EXPORT, ATTACH, LOAD, INSTALL, SET) is refused by name.
_ALLOWED = {"SELECT", "CREATE", "INSERT", "UPDATE", "DELETE", "DROP", "MULTI"}
_BATCH_ROWS = 64 * 1024
T = TypeVar("T")


class EmbeddedEngine:
    """DuckDB in process, over Parquet files, with a memory limit and a spill folder."""

    name = "duckdb"
    dialect = "duckdb"

    def __init__(self, *, memory_limit: str = "", spill: Path | None = None, threads: int = 0) -> None:
        self.memory_limit = memory_limit
        self.spill = spill
        self.threads = threads

    def run(self, job: ComputeJob) -> dict[str, StagedOutput]:
        inputs = {name: _admitted(job.folder, item) for name, item in job.inputs.items()}
        con = self._connect(job.folder)
        try:
            for name, item in inputs.items():
                _expose(con, name, item)
            return {port: _query(con, sql, job.folder.output(port), port) for port, sql in job.sql.items()}
        finally:
            con.close()

    def stop(self) -> None:
        """Nothing to release: each run opens and closes its own connection."""

    def _connect(self, folder: RunFolder) -> duckdb.DuckDBPyConnection:
        config: dict[str, str | bool | int | float | list[str]] = {
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
        if self.threads:
            config["threads"] = self.threads
        try:
            con = duckdb.connect(":memory:", config=config)
            if self.memory_limit:
                con.execute("SET memory_limit = ?", [self.memory_limit])
        except duckdb.Error as exc:
            raise TransformError(
                f"compute_memory_limit {self.memory_limit!r} is not a memory size DuckDB understands "
                f"({failure(exc).message}); write it like '2GB' or '512MB'"
            ) from None
        # Order matters: the temp directory and the allowed directories can only be set while
        # external access is on, and nothing can be changed once the configuration is locked.
        if self.spill is not None:
            self.spill.mkdir(parents=True, exist_ok=True)
            con.execute("SET temp_directory = ?", [str(self.spill)])
        con.execute("SET allowed_directories = ?", [[f"{folder.inputs}/"]])
        con.execute("SET enable_external_access = false")
        con.execute("SET TimeZone = 'UTC'")
        assert LOCKDOWN["lock_configuration"] is True
        con.execute("SET lock_configuration = true")
        return con


def _admitted(folder: RunFolder, item: ParquetInput) -> ParquetInput:
    """``item`` with every file inside the run's input folder: a hard link where it can, else a copy."""
    inside = folder.inputs.resolve()
    files = []
    for index, file in enumerate(item.files):
        path = Path(file.removeprefix("file://"))
        if path.resolve().is_relative_to(inside):
            files.append(str(path))
            continue
        target = folder.input(item.name) / f"pinned-{index:05d}.parquet"
        try:
            os.link(path, target)
        except OSError:  # another file system: a copy keeps the pinned bytes just as well
            shutil.copyfile(path, target)
        files.append(str(target))
    return ParquetInput(item.name, tuple(files), item.schema, item.rows)


def _expose(con: duckdb.DuckDBPyConnection, name: str, item: ParquetInput) -> None:
    """The input as a view named after its port (an empty one from its schema when it has no files)."""
    quoted = '"' + name.replace('"', '""') + '"'
    if not item.files:
        con.register(name, item.schema.empty_table())
        return
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in item.files)
    # union_by_name: older data files of a table may lack a column added since (it reads as null).
    con.execute(f"CREATE VIEW {quoted} AS SELECT * FROM read_parquet([{listed}], union_by_name = true)")


def _query(con: duckdb.DuckDBPyConnection, sql: SqlText, folder: Path, port: str) -> StagedOutput:
    statements = _statements(con, sql)
    target = folder / "part-00000.parquet"
    rows = 0
    for offset, statement in statements[:-1]:
        _guard(lambda s=statement: con.execute(s), con, sql, statement, offset)  # type: ignore[misc]
    offset, last = statements[-1]
    reader = _guard(lambda: con.sql(last).to_arrow_reader(_BATCH_ROWS), con, sql, last, offset)
    writer = pq.ParquetWriter(target, reader.schema)
    try:
        for batch in reader:
            writer.write_batch(batch)
            rows += batch.num_rows
    except duckdb.Error as exc:  # a failure while computing (a cast, a division, out of memory)
        raise _error(sql, failure(exc), offset) from None
    finally:
        writer.close()
    return StagedOutput(port, (str(target),), reader.schema, rows)


def _statements(con: duckdb.DuckDBPyConnection, sql: SqlText) -> list[tuple[int, str]]:
    """Each statement with the line it starts on (0-based), refusing those that reach outside."""
    try:
        found = con.extract_statements(sql.text)
    except duckdb.Error as exc:
        raise _error(sql, failure(exc), 0) from None
    if not found:
        raise TransformError(f"{sql.file} has no SQL statement; write a query that returns the port's rows")
    out: list[tuple[int, str]] = []
    position = 0
    for statement in found:
        text = statement.query
        start = sql.text.find(text.strip(), position)
        start = position if start < 0 else start
        position = start + len(text.strip())
        line = sql.text.count("\n", 0, start)
        kind = statement.type.name
        if kind not in _ALLOWED:
            raise TransformError(
                f"{sql.file}:{line + 1}: a {kind} statement cannot run in a transformation (it would reach "
                "outside the run); read data through input ports and return the port's rows with a query"
            )
        out.append((line, text))
    if out[-1][1] and found[-1].type.name not in ("SELECT", "MULTI"):
        raise TransformError(
            f"{sql.file}: its last statement is a {found[-1].type.name}; end with a query that returns the port's rows"
        )
    return out


def _guard(call: Callable[[], T], con: duckdb.DuckDBPyConnection, sql: SqlText, statement: str, offset: int) -> T:
    try:
        return call()
    except duckdb.Error as exc:
        raise _error(sql, located(statement, exc, con), offset) from None


def _error(sql: SqlText, error: SqlError, offset: int) -> TransformError:
    where = f"{sql.file}:{error.line + offset}" if error.line else sql.file
    hint = (
        " (file and network access are disabled: read data through input ports)"
        if error.kind == "PermissionException"
        else ""
    )
    return TransformError(f"{where}: {error.message}{hint}")
