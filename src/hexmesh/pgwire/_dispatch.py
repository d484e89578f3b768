"""The message loop: simple Query and the extended protocol (Parse/Bind/Describe/Execute/...)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from . import _execute as ex
from . import _messages as m
from ._copy import parse_copy
from ._params import decode_param
from ._portal import Portal, Statement
from ._rows import columns_of, expand_formats, row_description
from ._split import is_blank, split_statements
from .backend import Description, RowsResult
from .errors import PgError, SqlState

if TYPE_CHECKING:
    from ._connection import Connection

log = logging.getLogger("hexmesh.pgwire")
_EXTENDED = {b"P", b"B", b"D", b"E", b"C", b"H", b"S"}
# CopyData/CopyDone/CopyFail outside COPY FROM are ignored, as PostgreSQL does.
_IGNORED = {b"d", b"c", b"f"}
# Longer SQL texts are split into statements in a worker thread (other clients keep being served).
_SPLIT_IN_THREAD = 64 * 1024


async def message_loop(conn: Connection) -> None:
    """Read and answer messages until Terminate, disconnect or a fatal error."""
    limits = conn.server.limits
    while True:
        # As PostgreSQL: one timeout while idle, another while idle inside a transaction block.
        in_transaction = conn.txn.status != b"I"
        idle = limits.idle_in_transaction_timeout if in_transaction else limits.idle_session_timeout
        try:
            kind, payload = await conn.chan.read_message(idle)
        except TimeoutError as exc:
            if in_transaction:
                raise PgError(
                    SqlState.IDLE_IN_TRANSACTION_SESSION_TIMEOUT,
                    "terminating connection due to idle-in-transaction timeout",
                    severity="FATAL",
                ) from exc
            raise PgError(
                SqlState.IDLE_SESSION_TIMEOUT,
                "terminating connection due to idle-session timeout",
                severity="FATAL",
            ) from exc
        if kind == b"X":
            return
        if kind == b"Q":
            await simple_query(conn, m.Reader(payload).cstring())
        elif kind in _EXTENDED:
            await extended(conn, kind, payload)
        elif kind == b"F":
            conn.send_error(PgError(SqlState.FEATURE_NOT_SUPPORTED, "function call protocol is not supported"))
            conn.send_ready()
        elif kind not in _IGNORED:
            raise PgError(
                SqlState.PROTOCOL_VIOLATION,
                f"invalid frontend message type {kind!r}",
                severity="FATAL",
            )
        await conn.chan.maybe_flush()


async def simple_query(conn: Connection, sql: str) -> None:
    """Run every statement of a Query message, stopping at the first error."""
    statements = await _split(conn, sql)
    if not statements:
        conn.chan.send(m.EMPTY_QUERY)
    for text in statements:
        portal = Portal(Statement(text, []), [], [])
        try:
            portal.statement.copy = parse_copy(text)
            await ex.run(conn, portal, 0, describe=True)
        except PgError as err:
            if err.fatal:
                raise
            conn.send_error(err)
            break
        finally:
            portal.close()
    conn.send_ready()
    await conn.chan.flush()


async def _split(conn: Connection, sql: str) -> list[str]:
    """The statements of ``sql``; a long text is split in a worker thread, not on the event loop."""
    if len(sql) < _SPLIT_IN_THREAD:
        return split_statements(sql)
    return await conn.in_thread(split_statements, sql)


async def extended(conn: Connection, kind: bytes, payload: bytes) -> None:
    """Handle one extended-protocol message; after an error, skip to Sync."""
    if kind == b"S":
        conn.skip_until_sync = False
        if conn.txn.status == b"I":
            _close_portals(conn)
        conn.send_ready()
        await conn.chan.flush()
        return
    if conn.skip_until_sync:
        if kind == b"H":
            await conn.chan.flush()
        return
    try:
        await _HANDLERS[kind](conn, m.Reader(payload))
    except PgError as err:
        if err.fatal:
            raise
        conn.send_error(err)
        conn.skip_until_sync = True
        # PostgreSQL sends errors at once; clients waiting on a Flush must see them.
        await conn.chan.flush()


def _close_portals(conn: Connection) -> None:
    for portal in conn.portals.values():
        portal.close()
    conn.portals.clear()


async def _parse(conn: Connection, r: m.Reader) -> None:
    name, sql, types = r.cstring(), r.cstring(), r.int32_list()
    if name and name in conn.statements:
        raise PgError(SqlState.DUPLICATE_PREPARED_STATEMENT, f'prepared statement "{name}" already exists')
    parts = await _split(conn, sql)
    if len(parts) > 1:
        raise PgError(SqlState.SYNTAX_ERROR, "cannot insert multiple commands into a prepared statement")
    text = parts[0] if parts else ""
    conn.statements[name] = Statement(text, types, copy=parse_copy(text) if text else None)
    conn.chan.send(m.PARSE_COMPLETE)


def _statement(conn: Connection, name: str) -> Statement:
    stmt = conn.statements.get(name)
    if stmt is None:
        raise PgError(SqlState.UNDEFINED_PREPARED_STATEMENT, f'prepared statement "{name}" does not exist')
    return stmt


def _portal(conn: Connection, name: str) -> Portal:
    portal = conn.portals.get(name)
    if portal is None:
        raise PgError(SqlState.INVALID_CURSOR_NAME, f'portal "{name}" does not exist')
    return portal


def _param_type(stmt: Statement, i: int) -> int:
    if i < len(stmt.param_types) and stmt.param_types[i]:
        return stmt.param_types[i]
    desc = stmt.description
    if desc is not None and i < len(desc.param_types):
        return desc.param_types[i]
    return 0


async def _bind(conn: Connection, r: m.Reader) -> None:
    portal_name, stmt_name = r.cstring(), r.cstring()
    codes = r.int16_list()
    raw: list[bytes | None] = []
    for _ in range(r.count()):
        size = r.int32()
        raw.append(None if size < 0 else r.raw(size))
    result_codes = r.int16_list()
    stmt = _statement(conn, stmt_name)
    if portal_name and portal_name in conn.portals:
        raise PgError(SqlState.DUPLICATE_CURSOR, f'portal "{portal_name}" already exists')
    declared = len(stmt.description.param_types) if stmt.description else len(stmt.param_types)
    if declared and declared != len(raw):
        raise PgError(
            SqlState.PROTOCOL_VIOLATION,
            f"bind message supplies {len(raw)} parameters, but prepared statement requires {declared}",
        )
    formats = expand_formats(codes, len(raw), "parameter")
    if any(not _param_type(stmt, i) for i in range(len(raw))):
        # PostgreSQL resolves unspecified parameter types at Parse; ask the backend once.
        await describe_statement(conn, stmt)
    params = [decode_param(v, _param_type(stmt, i), formats[i]) for i, v in enumerate(raw)]
    old = conn.portals.pop(portal_name, None)
    if old is not None:
        old.close()
    conn.portals[portal_name] = Portal(stmt, params, result_codes)
    conn.chan.send(m.BIND_COMPLETE)


async def describe_statement(conn: Connection, stmt: Statement) -> Description:
    """Ask the backend for parameter types and result schema, once per statement."""
    if stmt.description is None:
        if is_blank(stmt.sql) or stmt.copy is not None:
            stmt.description = Description(stmt.param_types, None)
        else:
            assert conn.session is not None
            desc = await conn.call(conn.session.describe, stmt.sql, list(stmt.param_types))
            types = list(desc.param_types)
            for i, oid in enumerate(stmt.param_types):
                if oid and i < len(types):
                    types[i] = oid
            stmt.description = Description(types, desc.schema)
    return stmt.description


async def _describe(conn: Connection, r: m.Reader) -> None:
    kind, name = r.byte(), r.cstring()
    if kind == b"S":
        desc = await describe_statement(conn, _statement(conn, name))
        conn.chan.send(m.parameter_description(desc.param_types))
        if desc.schema is None:
            conn.chan.send(m.NO_DATA)
        else:
            cols = columns_of(desc.schema)
            conn.chan.send(row_description(cols, [0] * len(cols)))
        return
    if kind != b"P":
        raise PgError(SqlState.PROTOCOL_VIOLATION, f"invalid DESCRIBE message subtype {kind!r}")
    portal = _portal(conn, name)
    if is_blank(portal.statement.sql) or portal.statement.copy is not None:
        conn.chan.send(m.NO_DATA)
        return
    # Describe of a portal runs it: the result's own schema is the exact row description.
    try:
        await ex.start(conn, portal)
    finally:
        if not isinstance(portal.result, RowsResult):
            conn.end_statement()
    if portal.columns is None:
        conn.chan.send(m.NO_DATA)
    else:
        conn.chan.send(row_description(portal.columns, portal.formats))


async def _execute(conn: Connection, r: m.Reader) -> None:
    portal = _portal(conn, r.cstring())
    limit = r.int32()
    if is_blank(portal.statement.sql):
        conn.chan.send(m.EMPTY_QUERY)
        return
    await ex.run(conn, portal, max(limit, 0), describe=False)


async def _close(conn: Connection, r: m.Reader) -> None:
    kind, name = r.byte(), r.cstring()
    if kind == b"S":
        conn.statements.pop(name, None)
    elif kind == b"P":
        portal = conn.portals.pop(name, None)
        if portal is not None:
            portal.close()
    else:
        raise PgError(SqlState.PROTOCOL_VIOLATION, f"invalid CLOSE message subtype {kind!r}")
    conn.chan.send(m.CLOSE_COMPLETE)


async def _flush(conn: Connection, r: m.Reader) -> None:
    await conn.chan.flush()


_HANDLERS = {
    b"P": _parse,
    b"B": _bind,
    b"D": _describe,
    b"E": _execute,
    b"C": _close,
    b"H": _flush,
}
