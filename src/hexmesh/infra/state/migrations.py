"""The state store's schema version, and the steps that bring an older database to it.

:func:`migrate` runs once when a store opens: it creates what is missing, applies every step
from the database's version to :data:`SCHEMA_VERSION`, and records the version, in one
transaction (on PostgreSQL under an advisory lock, so nodes opening one store at once take
turns). Version 0 is a database from before the schema had a version: its governance tables
were created by the code that first used them, so some may be missing.

A new table needs only its definition in ``schema.py``. To change an existing table: bump
:data:`SCHEMA_VERSION`, change ``schema.py``, and add the step from the previous version to
``_STEPS`` (ALTER TABLE…), with a test that opens a database of the old version.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import JSON, Connection, Engine, insert, inspect, select, text, update
from sqlalchemy.exc import DBAPIError

from hexmesh.errors import WorkspaceError
from hexmesh.infra.state.records import now_us
from hexmesh.infra.state.schema import metadata, schema_version

__all__ = ["SCHEMA_VERSION", "migrate", "stored_version"]

#: The version of ``schema.py``.
SCHEMA_VERSION = 2
#: An arbitrary, fixed key: the PostgreSQL advisory lock of schema changes.
_LOCK = 0x68786D5F736368  # "hxm_sch"


def _create_missing(conn: Connection) -> None:
    """0 → 1: the governance tables, data keys and the version table exist (all created below)."""


def _grant_shapes(conn: Connection) -> None:
    """1 → 2: an access request records the policy shape its approval grants (``shape``)."""
    columns = {c["name"] for c in inspect(conn).get_columns("access_requests")}
    if "shape" not in columns:  # a table created at version 2 already has it
        kind = JSON().compile(dialect=conn.dialect)
        conn.execute(text(f"alter table access_requests add column shape {kind}"))


#: Step to each version from the one before it; every missing table is created before the steps run.
_STEPS: dict[int, Callable[[Connection], None]] = {1: _create_missing, 2: _grant_shapes}


def stored_version(conn: Connection) -> int:
    """The schema version of the database (0 when it predates versions)."""
    if not conn.dialect.has_table(conn, schema_version.name):
        return 0
    found = conn.execute(select(schema_version.c.version).where(schema_version.c.singleton == 1)).scalar()
    return 0 if found is None else int(found)


#: Tries at migrating a database other processes migrate at the same moment (SQLite).
_ATTEMPTS = 8


def migrate(db: Engine) -> int:
    """Bring the database to :data:`SCHEMA_VERSION`; returns the version it had before.

    Raises:
        WorkspaceError: the database was written by a newer hexmesh (its version is higher).
    """
    for attempt in range(_ATTEMPTS):
        try:
            return _migrate(db)
        except DBAPIError:
            # Another process created the same table or version row a moment earlier (SQLite has no
            # lock to take first): a later attempt finds them there. With several racing, the one
            # that wins may not have committed by the next attempt, so wait a little longer each time.
            if attempt == _ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _migrate(db: Engine) -> int:
    with db.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("select pg_advisory_xact_lock(:key)"), {"key": _LOCK})
        before = stored_version(conn)
        if before > SCHEMA_VERSION:
            raise WorkspaceError(
                f"the state store {db.url.render_as_string(hide_password=True)} has schema version {before}, "
                f"newer than this hexmesh's ({SCHEMA_VERSION}): upgrade hexmesh to open it"
            )
        # Missing tables are created even at the current version: a table added to schema.py needs
        # no step of its own, only changes to existing tables do.
        metadata.create_all(conn, checkfirst=True)
        if before == SCHEMA_VERSION:
            return before
        for version in range(before + 1, SCHEMA_VERSION + 1):
            _STEPS[version](conn)
        values = {"version": SCHEMA_VERSION, "migrated_us": now_us()}
        if before == 0:
            conn.execute(insert(schema_version).values(singleton=1, **values))
        else:
            conn.execute(update(schema_version).where(schema_version.c.singleton == 1).values(**values))
    return before
