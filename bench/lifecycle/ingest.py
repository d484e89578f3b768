"""Incremental ingest from PostgreSQL: hexmesh's cursor read against a plain ``COPY TO``.

A table of ``HEXMESH_BENCH_ROWS`` rows (default 500,000; six columns) in a fresh database on
127.0.0.1:5432. The baseline streams ``COPY (select * from t) TO STDOUT (FORMAT csv)`` into
memory with psycopg. hexmesh is measured twice: the source read alone (the cursor window,
``COPY`` and Arrow parsing, as a run's input port does it), and a whole first run (read,
transform, conform, publish one Iceberg snapshot). Then 10% more rows arrive and an
incremental run reads only those.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import psycopg

from bench.report import Result, work_dir
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
from hexmesh.product.postgres_source import read_postgres
from hexmesh.spec import PostgresSourceSpec

__all__ = ["run"]

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

_SPEC = """
domain: bench
name: users
version: 1.0.0
owner: bench@example.com
inputPorts:
  - {{name: users, source: {{postgres: "{url}", table: users, cursor: id}}, window: incremental}}
transformation: {{sql: transform.sql}}
outputPorts:
  - name: users
    properties:
      - {{name: id, logicalType: integer, required: true}}
      - {{name: name, logicalType: string}}
      - {{name: email, logicalType: string}}
      - {{name: score, logicalType: decimal, precision: 10, scale: 2}}
      - {{name: active, logicalType: boolean}}
      - {{name: created_at, logicalType: timestamp}}
"""


def _fill(url: str, first: int, count: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into users select n, 'user ' || n, 'u' || n || '@example.com', (n %% 1000) / 10.0, n %% 2 = 0, "
            "timestamptz '2026-01-01' + n * interval '1 second' from generate_series(%s::bigint, %s::bigint) n",
            (first, first + count - 1),
        )
        conn.execute("analyze users")


def _copy(url: str) -> float:
    started = time.perf_counter()
    buffer = io.BytesIO()
    query = "copy (select * from users) to stdout (format csv, header)"
    with psycopg.connect(url) as conn, conn.cursor() as cur, cur.copy(query) as copy:
        for chunk in copy:
            buffer.write(chunk)
    return time.perf_counter() - started


def run(rows: int | None = None) -> Result:
    rows = rows or int(os.environ.get("HEXMESH_BENCH_ROWS", "500000"))
    name = f"hexmesh_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    root = Path(tempfile.mkdtemp(prefix="hexmesh-bench-ingest-", dir=work_dir()))
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "create table users (id bigint primary key, name text, email text, score numeric(10, 2), "
                "active boolean, created_at timestamptz)"
            )
        _fill(url, 1, rows)
        _copy(url)  # warm the server's cache for both sides
        copy_s = min(_copy(url) for _ in range(3))
        spec = PostgresSourceSpec.model_validate({"postgres": url, "table": "users", "cursor": "id"})
        read_s = []
        for _ in range(3):
            started = time.perf_counter()
            table, _position = read_postgres("users", spec, None, incremental=True)
            read_s.append(time.perf_counter() - started)
            assert table.num_rows == rows
        folder = root / "users"
        folder.mkdir()
        (folder / "dataproduct.yaml").write_text(textwrap.dedent(_SPEC.format(url=url)).lstrip())
        (folder / "transform.sql").write_text("select * from users")
        workspace = Workspace(Settings.defaults(root / "ws"))
        try:
            workspace.deploy([folder])
            started = time.perf_counter()
            assert workspace.run("bench/users").rows == {"users": rows}
            first_run_s = time.perf_counter() - started
            more = max(1, rows // 10)
            _fill(url, rows + 1, more)
            started = time.perf_counter()
            assert workspace.run("bench/users").rows == {"users": more}
            incremental_s = time.perf_counter() - started
        finally:
            workspace.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'drop database "{name}" with (force)')
    read_best = min(read_s)
    result = Result("lifecycle-ingest", "source read ≤ 2× a plain COPY TO of the same rows")
    result.headline = [
        ("rows", f"{rows:,}"),
        ("plain COPY TO", f"{rows / copy_s:,.0f} rows/s ({copy_s:.2f} s)"),
        ("hexmesh source read", f"{rows / read_best:,.0f} rows/s ({read_best:.2f} s) = {read_best / copy_s:.2f}×"),
        ("hexmesh first run", f"{rows / first_run_s:,.0f} rows/s ({first_run_s:.2f} s) = {first_run_s / copy_s:.2f}×"),
        ("incremental run, +10%", f"{more / incremental_s:,.0f} rows/s ({incremental_s:.2f} s)"),
    ]
    result.data = {
        "rows": rows,
        "copy_s": copy_s,
        "source_read_s": read_s,
        "source_read_ratio": read_best / copy_s,
        "first_run_s": first_run_s,
        "first_run_ratio": first_run_s / copy_s,
        "incremental_rows": more,
        "incremental_run_s": incremental_s,
    }
    return result


if __name__ == "__main__":
    outcome = run(int(sys.argv[1]) if len(sys.argv) > 1 else None)
    print(outcome.write())
    for measure, value in outcome.headline:
        print(f"{measure}: {value}")
