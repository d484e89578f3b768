"""SQLite tables or queries as input ports, read incrementally by a cursor column.

One read is one read-only transaction: it takes the cursor's current maximum, then reads the rows
above the last position up to that maximum, so rows written meanwhile wait for the next run. The
new maximum becomes the position, kept only when the run succeeds. Columns are typed from the
types the table declares (SQLite stores values loosely; ``timestamptz`` text becomes a UTC
timestamp, ``boolean`` 0/1 a boolean); a query's columns are typed from their values.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from contextlib import closing
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from hexmesh.errors import InputError

__all__ = ["read_sqlite", "sqlite_path"]

_PREFIX = "sqlite:///"


def sqlite_path(url: str, origin: Path) -> Path:
    """The file of a ``sqlite:///path`` URL (``sqlite:////abs/path`` or a path relative to ``origin``)."""
    if not url.startswith(_PREFIX):
        raise InputError(
            f"SQLite URL {url!r} must start with {_PREFIX} followed by the file's path, "
            "for example sqlite:///data/users.db (relative to the product) or sqlite:////srv/users.db"
        )
    path = Path(url.removeprefix(_PREFIX).split("?", 1)[0]).expanduser()
    return path if path.is_absolute() else origin / path


def read_sqlite(
    port: str, path: Path, relation: str, cursor: str | None, previous: dict[str, Any] | None, *, is_table: bool
) -> tuple[pa.Table, dict[str, Any]]:
    """Rows above the last cursor position (all rows without ``previous``), and the new position."""
    if not path.is_file():
        raise InputError(
            f"input port {port!r}: the SQLite database {path} does not exist; create it (or fix the "
            "database URL in the spec); nothing was read and the next run tries again"
        )
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as conn:
            conn.execute("begin")  # one snapshot for the maximum and the rows
            return _read(conn, relation, cursor, previous, is_table=is_table)
    except sqlite3.Error as exc:
        raise InputError(
            f"input port {port!r}: reading SQLite {path} ({relation if is_table else 'query'}) failed: "
            f"{type(exc).__name__}: {exc}; nothing was consumed and the position did not move, so the next "
            "run retries from the same point"
        ) from None


def _read(
    conn: sqlite3.Connection, relation: str, cursor: str | None, previous: dict[str, Any] | None, *, is_table: bool
) -> tuple[pa.Table, dict[str, Any]]:
    source = _quoted(relation) if is_table else f"({relation.strip().rstrip(';')})"
    position: dict[str, Any] = {"source": "sqlite", "relation": relation if is_table else "query"}
    where, params = "1", []
    if cursor is not None:
        (high,) = conn.execute(f"select max({_quoted(cursor)}) from {source} as src").fetchone()
        last = (previous or {}).get("cursor")
        position |= {"cursor_column": cursor, "cursor": last if high is None else high}
        where, params = f"{_quoted(cursor)} <= ?", [high]
        if last is not None:
            where += f" and {_quoted(cursor)} > ?"
            params.append(last)
    rows = conn.execute(f"select * from {source} as src where {where}", params)
    names = [d[0] for d in rows.description]
    declared = _declared(conn, relation) if is_table else {}
    columns = list(zip(*rows.fetchall(), strict=False)) or [() for _ in names]
    arrays = {name: _array(values, declared.get(name, "")) for name, values in zip(names, columns, strict=True)}
    table = pa.table(arrays) if arrays else pa.table({})
    position["rows"] = table.num_rows
    return table, position


def _quoted(name: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


def _declared(conn: sqlite3.Connection, table: str) -> dict[str, str]:
    schema, _, name = table.rpartition(".")
    pragma = f"pragma {_quoted(schema) + '.' if schema else ''}table_info({_quoted(name)})"
    return {row[1]: str(row[2]).lower() for row in conn.execute(pragma)}


def _timestamp(value: Any) -> datetime:
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _local(value: Any) -> datetime:
    moment = datetime.fromisoformat(str(value))
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


# Declared type (as SQLite's affinity rules read it: by substring) → Arrow type and value conversion.
_TYPES: list[tuple[tuple[str, ...], pa.DataType, Callable[[Any], Any]]] = [
    (("timestamptz", "with time zone"), pa.timestamp("us", tz="UTC"), _timestamp),
    (("timestamp", "datetime"), pa.timestamp("us"), _local),
    (("bool",), pa.bool_(), bool),
    (("date",), pa.date32(), lambda v: v if isinstance(v, date) else date.fromisoformat(str(v))),
    (("int",), pa.int64(), int),
    (("real", "floa", "doub", "numeric", "decimal"), pa.float64(), float),
    (("blob",), pa.binary(), bytes),
    (("char", "text", "clob"), pa.string(), str),
]


def _array(values: Sequence[Any], declared: str) -> pa.Array:
    for words, kind, convert in _TYPES:
        if any(word in declared for word in words):
            return pa.array([None if v is None else convert(v) for v in values], type=kind)
    return pa.array(list(values))
