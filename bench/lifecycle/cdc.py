"""CDC from PostgreSQL: hexmesh's logical-replication read against fetching the raw pgoutput messages.

A table gets ``HEXMESH_BENCH_ROWS`` inserts (default 200,000 rows; six columns) in one
transaction after its replication slot exists, in a fresh database on 127.0.0.1:5432 (which needs
``wal_level = logical``). The baseline fetches the same changes with
``pg_logical_slot_peek_binary_changes`` into Python, unparsed: the server's decoding and the
transfer, which any CDC reader pays. hexmesh's read (``read_cdc``) adds parsing the messages and
building typed Arrow columns. Peeking consumes nothing, so each side reads the same changes
three times; the best of three counts. For scale, hexmesh's cursor read of the same rows is
measured too (``lifecycle-ingest`` compares that one with a plain ``COPY TO``).
"""

from __future__ import annotations

import os
import sys
import time
import uuid

import psycopg

from bench.lifecycle.ingest import ADMIN, _fill
from bench.report import Result
from hexmesh.product.cdc import read_cdc
from hexmesh.product.postgres_source import read_postgres
from hexmesh.spec import PostgresSourceSpec

__all__ = ["run"]


def _peek(url: str, slot: str) -> float:
    started = time.perf_counter()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            "select data from pg_logical_slot_peek_binary_changes(%s, null, null, 'proto_version', '1', "
            "'publication_names', %s)",
            (slot, slot),
        )
        for _ in cur:
            pass
    return time.perf_counter() - started


def run(rows: int | None = None) -> Result:
    rows = rows or int(os.environ.get("HEXMESH_BENCH_ROWS", "200000"))
    name = f"hexmesh_bench_cdc_{uuid.uuid4().hex[:8]}"
    slot = f"hexmesh_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "create table users (id bigint primary key, name text, email text, score numeric(10, 2), "
                "active boolean, created_at timestamptz)"
            )
        spec = PostgresSourceSpec.model_validate({"postgres": url, "table": "users", "mode": "cdc"})
        _empty, start = read_cdc("users", spec, None, slot)  # publication, slot and an empty snapshot
        _fill(url, 1, rows)
        _peek(url, slot)  # warm up both sides
        peek_s = min(_peek(url, slot) for _ in range(3))
        read_s = []
        for _ in range(3):
            began = time.perf_counter()
            table, _position = read_cdc("users", spec, start, slot)
            read_s.append(time.perf_counter() - began)
            assert table.num_rows == rows and set(table.column("_op").to_pylist()) == {"insert"}
        cursor = PostgresSourceSpec.model_validate({"postgres": url, "table": "users", "cursor": "id"})
        began = time.perf_counter()
        assert read_postgres("users", cursor, None, incremental=True)[0].num_rows == rows
        cursor_s = time.perf_counter() - began
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:  # a slot left behind would keep WAL
            conn.execute(
                "select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = %s", (slot,)
            )
            conn.execute(f'drop database "{name}" with (force)')
    best = min(read_s)
    result = Result("lifecycle-cdc", "CDC read ≤ 3× fetching the raw pgoutput messages of the same changes")
    result.headline = [
        ("changes (inserts)", f"{rows:,}"),
        ("raw peek (baseline)", f"{rows / peek_s:,.0f} changes/s ({peek_s:.2f} s)"),
        ("hexmesh CDC read", f"{rows / best:,.0f} changes/s ({best:.2f} s) = {best / peek_s:.2f}×"),
        ("hexmesh cursor read, same rows", f"{rows / cursor_s:,.0f} rows/s ({cursor_s:.2f} s)"),
    ]
    result.data = {
        "rows": rows,
        "peek_s": peek_s,
        "cdc_read_s": read_s,
        "cdc_read_ratio": best / peek_s,
        "cursor_read_s": cursor_s,
    }
    return result


if __name__ == "__main__":
    outcome = run(int(sys.argv[1]) if len(sys.argv) > 1 else None)
    print(outcome.write())
    for measure, value in outcome.headline:
        print(f"{measure}: {value}")
