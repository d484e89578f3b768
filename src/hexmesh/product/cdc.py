"""PostgreSQL tables read by logical replication (``mode: cdc``): every insert, update and delete once.

Each input port gets a publication for its table and a logical replication slot using the
``pgoutput`` plugin, both named by :func:`slot_name` (``hexmesh_<domain>_<product>_<major>_<port>``).
A read peeks at the slot's changes with ``pg_logical_slot_peek_binary_changes`` up to the
current WAL position and parses them (:mod:`hexmesh.product.pgoutput`); peeking consumes
nothing. The slot is advanced (:func:`confirm`) only after the run that read the changes has
published, with the position stored in the same state-store transaction as the publication.
A crash between the publication and the advance leaves the changes in the slot: the next read
skips every transaction that ends at or below the stored position, so nothing is read twice.

The first read takes a snapshot of the whole table (rows with ``_op = 'snapshot'``) right after
creating the slot, and drops the changes of transactions that the snapshot already saw.

A position never moves backwards: a server whose WAL is behind the stored position (restored
from a backup), or another server, database or table behind the same URL, is an
:class:`InputError` that says so, and nothing is read (a new major starts over from a snapshot).
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pcsv
from psycopg import sql

from hexmesh.errors import InputError, redacted_url
from hexmesh.product.pgoutput import Decoder, Transaction, format_lsn, parse_lsn
from hexmesh.product.postgres_source import arrow_table, refuse_swapped, source_identity
from hexmesh.product.sources import expand_vars
from hexmesh.spec import InputPort, PostgresSourceSpec

__all__ = [
    "CDC_COLUMNS",
    "cdc_ports",
    "confirm",
    "confirm_positions",
    "drop_slot",
    "port_slot",
    "read_cdc",
    "slot_name",
]

log = logging.getLogger(__name__)

#: Columns a CDC read adds to the table's own: the change, its transaction's commit LSN and time.
CDC_COLUMNS = {"_op": pa.string(), "_lsn": pa.string(), "_committed_at": pa.timestamp("us", tz="UTC")}


def slot_name(product: str, major: int, port: str) -> str:
    """``hexmesh_<domain>_<product>_<major>_<port>``, lower-case, ``-`` as ``_``; the publication shares it.

    Names longer than PostgreSQL's 63 characters keep their first 50 and add a hash of the whole.
    """
    name = re.sub(r"[^a-z0-9_]", "_", f"hexmesh_{product.replace('/', '_')}_{major}_{port}".lower())
    if len(name) <= 63:
        return name
    return f"{name[:50]}_{hashlib.sha256(name.encode()).hexdigest()[:12]}"


def port_slot(product: str, major: int, port: InputPort) -> str:
    """The slot of a CDC input: the spec's ``slot``, else :func:`slot_name`."""
    assert isinstance(port.source, PostgresSourceSpec)
    return port.source.slot or slot_name(product, major, port.name)


def cdc_ports(ports: Iterable[InputPort]) -> list[tuple[InputPort, PostgresSourceSpec]]:
    return [
        (port, port.source)
        for port in ports
        if isinstance(port.source, PostgresSourceSpec) and port.source.mode == "cdc"
    ]


def _failure(port: str, url: str, spec: PostgresSourceSpec, exc: psycopg.Error) -> InputError:
    return InputError(
        f"input port {port!r}: reading changes of PostgreSQL {redacted_url(url)} ({spec.path}) failed: "
        f"{type(exc).__name__}: {' '.join(str(exc).split())}; nothing was consumed and the slot did not "
        "move, so the next run retries from the same point"
    )


def read_cdc(
    port: str, spec: PostgresSourceSpec, previous: dict[str, Any] | None, slot: str
) -> tuple[pa.Table, dict[str, Any]]:
    """The changes committed since the last published read (a snapshot first), and the new position."""
    url = expand_vars(spec.postgres, "postgres URL")
    try:
        with psycopg.connect(url, connect_timeout=10, application_name=f"hexmesh:{port}", autocommit=True) as conn:
            conn.execute("set timezone = 'UTC'; set datestyle = 'ISO, YMD'")
            return _read(conn, port, spec, previous if previous and previous.get("mode") == "cdc" else None, slot)
    except psycopg.Error as exc:
        raise _failure(port, url, spec, exc) from None


def _read(
    conn: psycopg.Connection[Any], port: str, spec: PostgresSourceSpec, previous: dict[str, Any] | None, slot: str
) -> tuple[pa.Table, dict[str, Any]]:
    level = conn.execute("show wal_level").fetchone()
    if level is None or level[0] != "logical":
        raise InputError(
            f"input port {port!r} reads {spec.path} by logical replication (mode: cdc), but the server's "
            f"wal_level is {level[0] if level else 'unknown'!r}; run ALTER SYSTEM SET wal_level = logical "
            "as a superuser and restart PostgreSQL, or read the table with mode: cursor"
        )
    table = _table(conn, port, spec)
    _ensure_publication(conn, slot, table)
    found = conn.execute(
        "select confirmed_flush_lsn::text from pg_replication_slots where slot_name = %s", (slot,)
    ).fetchone()
    position: dict[str, Any] = {"source": "postgres", "mode": "cdc", "relation": spec.path, "slot": slot}
    with conn.cursor() as cur:
        position["identity"] = source_identity(cur, spec)
    if previous is not None:
        refuse_swapped(port, spec, previous.get("identity"), position["identity"])
    snapshot: tuple[pa.Table, str] | None = None
    if previous is None:
        if found is None:
            _create_slot(conn, port, slot)
        snapshot = _snapshot(conn, table)
    elif found is None:
        raise InputError(
            f"input port {port!r}: the replication slot {slot!r} is gone (dropped by hand, or by "
            f"retirement), so changes committed after {previous['confirm_lsn']} cannot be read; nothing was "
            f"consumed. To accept the gap, create it again with SELECT pg_create_logical_replication_slot("
            f"'{slot}', 'pgoutput') and run again; to start over from a full snapshot, deploy a new major"
        )
    upto_row = conn.execute("select pg_current_wal_lsn()::text").fetchone()
    assert upto_row is not None
    upto = parse_lsn(upto_row[0])
    if previous is not None and upto < parse_lsn(previous["confirm_lsn"]):
        raise InputError(
            f"input port {port!r}: the server of {spec.path} is at WAL position {upto_row[0]}, behind the "
            f"{previous['confirm_lsn']} the last run read up to: it was restored from a backup or another "
            "server answers at the same URL, so its changes cannot follow on from what was published and "
            "nothing was read or re-published. Point the URL back at the source, or deploy a new major to "
            "start over from a snapshot of the table as it is now"
        )
    decoder = Decoder()
    with conn.cursor() as cur:
        cur.execute(
            "select data from pg_logical_slot_peek_binary_changes(%s, %s::pg_lsn, null, "
            "'proto_version', '1', 'publication_names', %s)",
            (slot, format_lsn(upto), slot),
        )
        for (data,) in cur:
            decoder.feed(bytes(data))
    done = parse_lsn(previous["confirm_lsn"]) if previous else 0
    visible = _visibility(snapshot[1]) if snapshot else None
    fresh = [t for t in decoder.transactions if t.end_lsn > done and not (visible is not None and visible(t.xid))]
    confirm_lsn = max([upto, done, *(t.end_lsn for t in decoder.transactions)])
    position |= {"confirm_lsn": format_lsn(confirm_lsn)}
    schema = _schema(conn, table)
    parts = [snapshot[0]] if snapshot else []
    parts.append(_changes(fresh, schema, table))
    result = pa.concat_tables(parts)
    position["rows"] = result.num_rows
    return result, position


def _table(conn: psycopg.Connection[Any], port: str, spec: PostgresSourceSpec) -> tuple[str, str]:
    assert spec.table is not None
    schema, _, name = spec.table.rpartition(".")
    found = conn.execute(
        "select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where c.relname = %s and c.relkind in ('r', 'p') and (n.nspname = %s or (%s = '' and n.nspname = "
        "any(current_schemas(false)))) order by n.nspname = %s desc limit 1",
        (name, schema, schema, schema or "public"),
    ).fetchone()
    if found is None:
        raise InputError(
            f"input port {port!r} reads the table {spec.table!r} by logical replication, but the database has "
            "no such table (views and queries cannot be replicated); create it or fix 'table' in the spec"
        )
    return str(found[0]), str(found[1])


def _ensure_publication(conn: psycopg.Connection[Any], name: str, table: tuple[str, str]) -> None:
    """A publication of exactly this table; created before the slot so that its first change is published."""
    tables = conn.execute(
        "select schemaname, tablename from pg_publication_tables where pubname = %s", (name,)
    ).fetchall()
    exists = conn.execute("select 1 from pg_publication where pubname = %s", (name,)).fetchone()
    target = sql.Identifier(*table)
    if exists is None:
        conn.execute(sql.SQL("create publication {} for table {}").format(sql.Identifier(name), target))
    elif [tuple(row) for row in tables] != [table]:
        conn.execute(sql.SQL("alter publication {} set table {}").format(sql.Identifier(name), target))


def _create_slot(conn: psycopg.Connection[Any], port: str, slot: str) -> None:
    # Creating a logical slot waits for every transaction already running on the server to end.
    conn.execute("set statement_timeout = '5min'")
    try:
        conn.execute("select pg_create_logical_replication_slot(%s, 'pgoutput')", (slot,))
    except psycopg.errors.QueryCanceled:
        raise InputError(
            f"input port {port!r}: creating the replication slot {slot!r} waited 5 minutes for transactions "
            "already running on the server to finish; end long-running or idle-in-transaction sessions "
            "(see pg_stat_activity) and run again"
        ) from None
    finally:
        conn.execute("reset statement_timeout")


def _snapshot(conn: psycopg.Connection[Any], table: tuple[str, str]) -> tuple[pa.Table, str]:
    """The whole table, as of a snapshot taken after the slot existed, and that snapshot."""
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    try:
        with conn.transaction():
            row = conn.execute("select pg_current_snapshot()::text").fetchone()
            assert row is not None
            rows = arrow_table(conn, sql.Identifier(*table), sql.SQL("true"))
    finally:
        conn.isolation_level, conn.read_only = None, None
    now = conn.execute("select now()").fetchone()
    assert now is not None
    extra = {
        "_op": pa.array(["snapshot"] * rows.num_rows, pa.string()),
        "_lsn": pa.nulls(rows.num_rows, pa.string()),
        "_committed_at": pa.nulls(rows.num_rows, CDC_COLUMNS["_committed_at"]),
    }
    for name, values in extra.items():
        rows = rows.append_column(name, values)
    return rows, str(row[0])


def _visibility(snapshot: str) -> Callable[[int], bool]:
    """Whether a (32-bit) transaction id was visible to ``xmin:xmax:xip,...`` (pg_current_snapshot)."""
    xmin_text, xmax_text, running = snapshot.split(":")
    xmin, xmax = int(xmin_text) & 0xFFFFFFFF, int(xmax_text) & 0xFFFFFFFF
    active = {int(x) & 0xFFFFFFFF for x in running.split(",") if x}

    def precedes(a: int, b: int) -> bool:  # modulo 2^32, as PostgreSQL compares transaction ids
        return ((a - b) & 0xFFFFFFFF) >= 0x80000000

    return lambda xid: precedes(xid, xmin) or (precedes(xid, xmax) and xid not in active)


def _schema(conn: psycopg.Connection[Any], table: tuple[str, str]) -> pa.Schema:
    return arrow_table(conn, sql.Identifier(*table), sql.SQL("false")).schema


def _changes(transactions: list[Transaction], schema: pa.Schema, table: tuple[str, str]) -> pa.Table:
    """Rows of the changes to ``table``, typed like a read of the table, plus the CDC columns."""
    names = schema.names
    columns: dict[str, list[Any]] = {name: [] for name in [*names, *CDC_COLUMNS]}
    targets = [(name, columns[name]) for name in names]
    for transaction in transactions:
        lsn, committed = format_lsn(transaction.commit_lsn), transaction.committed_at
        for change in transaction.changes:
            if (change.relation.namespace, change.relation.name) != table:
                continue
            values = change.values
            for name, column in targets:  # a column added or dropped since the change: matched by name
                column.append(values.get(name))
            columns["_op"].append(change.op)
            columns["_lsn"].append(lsn)
            columns["_committed_at"].append(committed)
    texts = pa.table({name: pa.array(columns[name], pa.string()) for name in names})
    typed = _typed(texts, schema)
    for name, kind in CDC_COLUMNS.items():
        typed = typed.append_column(name, pa.array(columns[name], kind))
    return typed


def _typed(texts: pa.Table, schema: pa.Schema) -> pa.Table:
    """PostgreSQL text values → the Arrow types a read of the table gives (as the cursor source parses them)."""
    if texts.num_rows == 0:
        return schema.empty_table()
    buffer = io.BytesIO()
    pcsv.write_csv(texts, buffer, pcsv.WriteOptions(quoting_style="all_valid"))
    buffer.seek(0)
    return pcsv.read_csv(
        buffer,
        convert_options=pcsv.ConvertOptions(
            column_types={field.name: field.type for field in schema},
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    ).select(schema.names)


def confirm(spec: PostgresSourceSpec, position: dict[str, Any]) -> None:
    """Advance the slot to a published position; WAL before it can then be recycled.

    A failure only delays recycling: the next read skips what the stored position says was read.
    """
    if position.get("mode") != "cdc":
        return
    url = expand_vars(spec.postgres, "postgres URL")
    try:
        with psycopg.connect(url, connect_timeout=10, autocommit=True) as conn:
            conn.execute(
                "select pg_replication_slot_advance(slot_name, %s::pg_lsn) from pg_replication_slots "
                "where slot_name = %s and confirmed_flush_lsn < %s::pg_lsn",
                (position["confirm_lsn"], position["slot"], position["confirm_lsn"]),
            )
    except psycopg.Error as exc:
        log.warning(
            "could not advance replication slot %s to %s (%s); the next run skips what was published, and the "
            "slot keeps WAL until it advances",
            position["slot"],
            position["confirm_lsn"],
            exc,
        )


def confirm_positions(ports: Iterable[InputPort], positions: dict[str, dict[str, Any]]) -> None:
    """After a run's positions are stored: advance the slot of every CDC input to where it read."""
    for port, spec in cdc_ports(ports):
        if port.name in positions:
            confirm(spec, positions[port.name])


def drop_slot(spec: PostgresSourceSpec, slot: str) -> bool:
    """Drop the slot and publication of a CDC input (retirement); True if a slot was dropped."""
    url = expand_vars(spec.postgres, "postgres URL")
    try:
        with psycopg.connect(url, connect_timeout=10, autocommit=True) as conn:
            dropped = conn.execute(
                "select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = %s", (slot,)
            ).fetchall()
            conn.execute(sql.SQL("drop publication if exists {}").format(sql.Identifier(slot)))
    except psycopg.Error as exc:
        raise InputError(
            f"could not drop replication slot {slot!r} on {redacted_url(url)}: {' '.join(str(exc).split())}; a slot "
            f"keeps WAL on the server: drop it there with SELECT pg_drop_replication_slot('{slot}')"
        ) from None
    return bool(dropped)
