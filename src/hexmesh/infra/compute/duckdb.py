"""A DuckDB connection that cannot touch files, extensions or its own settings.

Transformations, quality checks and the SQL port run user SQL; the only data such SQL may
see is what hexmesh registers as tables (Arrow, zero-copy).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

__all__ = ["LOCKDOWN", "LockedDuckDB", "SqlError", "failure", "located"]

#: Settings applied at connect time; ``lock_configuration`` makes SQL unable to undo them.
LOCKDOWN: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "lock_configuration": True,
}

_LINE = re.compile(r"LINE (\d+):")
#: What a locked connection can be given as a table: Arrow in memory, or a dataset of files DuckDB scans.
Tables = Mapping[str, pa.Table | ds.Dataset]


@dataclass(frozen=True)
class SqlError(Exception):
    """DuckDB rejected a statement; ``line`` is 1-based within the statement when known."""

    kind: str
    message: str
    line: int | None

    def __str__(self) -> str:
        return self.message


class LockedDuckDB:
    """Factory for locked-down in-memory DuckDB connections."""

    def __init__(
        self, *, threads: int | None = None, memory_limit: str | None = None, spill: Path | None = None
    ) -> None:
        config: dict[str, str | bool | int | float | list[str]] = {}
        if threads:
            config["threads"] = threads
        if memory_limit:
            config["memory_limit"] = memory_limit
        self._spill = spill
        locks = {k: v for k, v in LOCKDOWN.items() if k != "lock_configuration"}
        if spill is not None:
            # DuckDB refuses a custom temp_directory once external access is off: connect with
            # it on, set the spill folder, then turn it off (before any SQL runs).
            locks.pop("enable_external_access")
        self._config = {**config, **locks}

    def connect(self, tables: Tables | None = None) -> duckdb.DuckDBPyConnection:
        """A fresh locked connection with ``tables`` registered by name."""
        con = duckdb.connect(":memory:", config=self._config)
        if self._spill is not None:
            self._spill.mkdir(parents=True, exist_ok=True)
            con.execute("SET temp_directory = ?", [str(self._spill)])
            con.execute("SET enable_external_access = false")
        # The time zone is an ICU setting, unknown at connect time: set it, then lock everything,
        # so results do not depend on the machine's zone and SQL cannot change either.
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET lock_configuration = true")
        for name, table in (tables or {}).items():
            con.register(name, table)
        return con

    def query(self, sql: str, tables: Tables | None = None) -> pa.Table:
        """Run one query over ``tables`` and return its result as Arrow."""
        con = self.connect(tables)
        try:
            return con.sql(sql).to_arrow_table()
        except duckdb.Error as exc:
            raise located(sql, exc, con) from None
        finally:
            con.close()


def located(sql: str, exc: duckdb.Error, con: duckdb.DuckDBPyConnection | None = None) -> SqlError:
    """The error, with its line: ``con.sql`` drops the position that binding reports."""
    error = failure(exc)
    if error.line is None and con is not None:
        try:
            # PREPARE parses and binds without running, so it is cheap and reports the line.
            con.execute("PREPARE hexmesh_locate AS " + sql)
        except duckdb.Error as located:
            found = failure(located)
            if found.message == error.message:  # the same error, now with its line
                return found
    return error


def failure(exc: duckdb.Error) -> SqlError:
    """Turn a DuckDB error into a :class:`SqlError` with the line it points at."""
    text = str(exc)
    match = _LINE.search(text)
    head = text.split("\n\nLINE", 1)[0].strip()
    return SqlError(type(exc).__name__, head, int(match.group(1)) if match else None)
