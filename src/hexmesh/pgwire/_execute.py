"""Running a portal: backend execute, row streaming with limits, COPY TO STDOUT."""

from __future__ import annotations

import asyncio
import math
import re
from typing import TYPE_CHECKING

from . import _messages as m
from ._copy import copy_out_response, render_batch, render_header
from ._portal import Portal
from ._rows import expand_formats, row_description
from .backend import CommandResult, RowsResult
from .errors import PgError, SqlState

if TYPE_CHECKING:
    from ._connection import Connection

_DEALLOCATE = re.compile(r"^\s*DEALLOCATE\s+(?:PREPARE\s+)?(\w+|\"[^\"]+\")\s*;?\s*$", re.I)
#: The next chunk is encoded while this one drains only when this one is at most this big, so a
#: connection streaming wide rows holds one chunk, not two.
_AHEAD_BYTES = 16 * 1024 * 1024
_COUNTED = {"SELECT", "FETCH", "MOVE", "COPY", "UPDATE", "DELETE", "MERGE"}


def rows_tag(command: str, rows: int) -> str:
    """CommandComplete tag for a row-returning command."""
    if command in _COUNTED:
        return f"{command} {rows}"
    if command == "INSERT":
        return f"INSERT 0 {rows}"
    return command


def deallocate(conn: Connection, sql: str) -> str | None:
    """Handle DEALLOCATE [PREPARE] name|ALL here: prepared statements live in the protocol layer."""
    match = _DEALLOCATE.match(sql)
    if match is None:
        return None
    name = match.group(1)
    if name.upper() == "ALL":
        conn.statements = {k: v for k, v in conn.statements.items() if not k}
        return "DEALLOCATE ALL"
    name = name.strip('"')
    if conn.statements.pop(name, None) is None:
        raise PgError(SqlState.UNDEFINED_PREPARED_STATEMENT, f'prepared statement "{name}" does not exist')
    return "DEALLOCATE"


async def start(conn: Connection, portal: Portal) -> None:
    """Execute the portal's statement in the backend unless already done."""
    if portal.result is not None:
        return
    assert conn.session is not None
    sql, forced_tag = conn.txn.before(portal.statement.sql)
    if not conn.busy:
        conn.begin_statement()
    result = await conn.call(conn.session.execute, sql, portal.params)
    if forced_tag is not None and isinstance(result, CommandResult):
        result = CommandResult(forced_tag, result.reported)
    if not isinstance(result, (CommandResult, RowsResult)):
        raise PgError(SqlState.INTERNAL_ERROR, f"backend returned {type(result).__name__}, not a Result")
    portal.attach(result)
    if portal.columns is not None:
        portal.formats = expand_formats(portal.format_codes, len(portal.columns), "result")
    if isinstance(result, CommandResult):
        conn.txn.succeeded(portal.statement.sql)


async def run(conn: Connection, portal: Portal, limit: int, describe: bool) -> None:
    """Execute (or resume) a portal, sending at most limit rows (0 means all)."""
    try:
        if not conn.busy:
            conn.begin_statement()
        if portal.statement.copy is not None:
            await copy_out(conn, portal)
            return
        tag = deallocate(conn, portal.statement.sql)
        if tag is not None:
            conn.chan.send(m.command_complete(tag))
            return
        await start(conn, portal)
        result = portal.result
        if isinstance(result, CommandResult):
            for name, value in result.reported.items():
                conn.chan.send(m.parameter_status(name, value))
            conn.chan.send(m.command_complete(result.tag))
            return
        assert isinstance(result, RowsResult) and portal.columns is not None
        if describe:
            conn.chan.send(row_description(portal.columns, portal.formats))
        await stream(conn, portal, limit)
    finally:
        conn.end_statement()


async def stream(conn: Connection, portal: Portal, limit: int) -> None:
    """Send DataRows chunk by chunk, draining the socket after each to bound memory.

    The next chunk is encoded in the worker pool while this one drains to the client, so the
    encoding and the client's reading overlap; at most two chunks are held at a time, and only
    one when a chunk passes ``_AHEAD_BYTES``.
    """
    assert isinstance(portal.result, RowsResult)
    remaining = limit if limit > 0 else math.inf
    chunk = conn.server.limits.batch_rows
    ahead: asyncio.Task[tuple[memoryview, int, bool]] | None = None
    try:
        while remaining > 0:
            conn.check_cancelled()
            if ahead is None:
                data, count, exhausted = await conn.call(portal.fetch, int(min(remaining, chunk)), chunk)
            else:
                data, count, exhausted = await ahead
                ahead = None
            if exhausted:
                break
            conn.chan.send(data)
            remaining -= count
            if remaining > 0 and len(data) <= _AHEAD_BYTES:
                ahead = asyncio.ensure_future(conn.call(portal.fetch, int(min(remaining, chunk)), chunk))
            await conn.chan.flush()
    finally:
        if ahead is not None:
            # The portal must be left alone before anything else touches it (close, the next Execute).
            await asyncio.wait({ahead})
            if not ahead.cancelled():
                ahead.exception()  # retrieved: the error that ended the loop is the one to report
    if limit > 0 and remaining <= 0 and await conn.call(portal.has_more):
        conn.chan.send(m.PORTAL_SUSPENDED)
        return
    conn.chan.send(m.command_complete(rows_tag(portal.result.command, portal.rows_sent)))


async def copy_out(conn: Connection, portal: Portal) -> None:
    """COPY ... TO STDOUT: run the query, then CopyOutResponse, CopyData chunks, CopyDone."""
    spec = portal.statement.copy
    assert spec is not None and conn.session is not None
    conn.txn.before(portal.statement.sql)
    result = await conn.call(conn.session.execute, spec.query, portal.params)
    if not isinstance(result, RowsResult):
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED, "COPY source returned no rows")
    portal.attach(result)
    names = [f.name for f in result.schema]
    conn.chan.send(copy_out_response(len(names)))
    if spec.header:
        conn.chan.send(m.message(b"d", render_header(names, spec)))

    def render(limit: int) -> tuple[bytes, int, bool]:
        batch = portal.next_rows(limit)
        return (b"", 0, True) if batch is None else (render_batch(batch, spec), batch.num_rows, False)

    total = 0
    while True:
        conn.check_cancelled()
        data, count, exhausted = await conn.call(render, conn.server.limits.batch_rows)
        if exhausted:
            break
        total += count
        conn.chan.send(m.message(b"d", data))
        await conn.chan.flush()
    conn.chan.send(m.COPY_DONE)
    conn.chan.send(m.command_complete(f"COPY {total}"))
