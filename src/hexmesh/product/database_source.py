"""``database:`` input ports: the URL's scheme picks the database (PostgreSQL or SQLite)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from hexmesh.errors import InputError, redacted_url
from hexmesh.product.postgres_source import read_postgres
from hexmesh.product.sources import expand_vars
from hexmesh.product.sqlite_source import read_sqlite, sqlite_path
from hexmesh.spec import Confinement, DatabaseSourceSpec, PostgresSourceSpec

__all__ = ["database_url", "read_database"]


def database_url(spec: DatabaseSourceSpec) -> str:
    """The URL with its variables expanded."""
    return expand_vars(spec.database, "database URL")


def read_database(
    port: str,
    spec: DatabaseSourceSpec,
    origin: Path,
    previous: dict[str, Any] | None,
    *,
    incremental: bool,
    confinement: Confinement | None = None,
) -> tuple[pa.Table, dict[str, Any]]:
    """Rows above the last cursor position (all rows when not incremental), and the new position.

    A SQLite file is a file source too: it must stay inside the product folder or the node's
    source roots (``confinement``), also after its variables are expanded.
    """
    url = database_url(spec)
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("postgresql", "postgres"):
        postgres = PostgresSourceSpec(postgres=url, table=spec.table, query=spec.query, cursor=spec.cursor)
        return read_postgres(port, postgres, previous, incremental=incremental)
    if scheme == "sqlite":
        relation = spec.table if spec.table is not None else str(spec.query)
        file = sqlite_path(url, origin)
        reason = (confinement or Confinement(origin)).escape(str(file), roots=True)
        if reason:
            raise InputError(
                f"input port {port!r}: SQLite file {str(file)!r} {reason}; nothing was read. Keep the database "
                "in the product folder or under a folder of the node's source_roots setting (HEXMESH_SOURCE_ROOTS)"
            )
        return read_sqlite(
            port,
            file,
            relation,
            spec.cursor,
            previous if incremental else None,
            is_table=spec.table is not None,
        )
    raise InputError(
        f"input port {port!r}: database URL {redacted_url(url)!r} has no scheme hexmesh reads; "
        "write postgresql://USER@HOST:5432/DB or sqlite:///path/to/file.db"
    )
