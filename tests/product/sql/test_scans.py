"""How the port reads a snapshot: DuckDB's own Parquet scan of the pinned files, never a file name for clients."""

from __future__ import annotations

from pathlib import Path

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq

from hexmesh.lifecycle import Workspace
from hexmesh.product.sql import SqlPortConfig
from hexmesh.product.sql.snapshots import SnapshotSource, _local_path, _native
from tests.product.sql.conftest import Loop, Port, serve


def test_explain_shows_a_native_parquet_scan_and_no_server_path(sql: Port, mesh: Workspace) -> None:
    # The port's DuckDB reads the snapshot's Parquet files itself (docs/adr/0014): local files where
    # they are, files on S3 from local copies made through the table's FileIO (docs/adr/0030).
    # EXPLAIN (also ANALYZE, which lists the files read) never shows where the warehouse is.
    home = str(mesh.settings.home)
    scan = "READ_PARQUET"
    with psycopg.connect(sql.dsn(), autocommit=True) as con:
        for explain in ("explain", "explain analyze"):
            cursor = con.execute(f"{explain} select sum(amount) from sales.orders__orders where amount > 1")
            assert cursor.description is not None and [c.name for c in cursor.description] == ["QUERY PLAN"]
            plan = "\n".join(str(row[0]) for row in cursor.fetchall())
            assert scan in plan and home not in plan and "s3://" not in plan, plan
        described = con.execute("explain select 1", prepare=True)
        assert described.description is not None and described.description[0].name == "QUERY PLAN"


def test_without_native_scans_the_port_reads_through_arrow_as_for_files_on_object_storage(
    mesh: Workspace, loop: Loop
) -> None:
    # Files that are not local (S3) are read through the table's filesystem as an Arrow dataset.
    port = serve(mesh, loop, SqlPortConfig(native_scans=False))
    try:
        with psycopg.connect(port.dsn(), autocommit=True) as con:
            assert con.execute("select count(*), sum(amount) from sales.orders__orders").fetchone() == (9, 90.0)
            plan = repr(con.execute("explain select sum(amount) from sales.orders__orders").fetchall())
            assert "READ_PARQUET" not in plan and "ARROW_SCAN" in plan.upper()
    finally:
        loop.run(port.server.close())


def test_a_port_column_no_file_has_yet_reads_as_null(tmp_path: Path) -> None:
    # An added column: older files lack it, the declared schema still has it.
    old = tmp_path / "old.parquet"
    pq.write_table(pa.table({"a": pa.array([1, 2], pa.int64())}), old)
    schema = pa.schema([("a", pa.int64()), ("b", pa.string()), ("c", pa.int32())])
    scan = _native(schema, [str(old)])
    rows = duckdb.sql(f"select * from {scan.sql} order by a").fetchall()  # type: ignore[union-attr]
    assert rows == [(1, None, None), (2, None, None)]
    assert _local_path("s3://bucket/x.parquet", str(tmp_path) + "/") is None  # object storage: Arrow
    assert _local_path((tmp_path / "x").as_uri(), "/elsewhere/") is None  # outside the warehouse: Arrow


def test_s3_files_are_scanned_from_bounded_local_copies(mesh: Workspace, loop: Loop) -> None:
    """On S3 the port copies a snapshot's files once through the table's FileIO; an evicted copy is fetched again."""
    if mesh.settings.warehouse.startswith("file:"):
        assert serve_snapshots(mesh).mirror is None  # local files are scanned where they are
        return
    port = serve(mesh, loop)
    try:
        mirror = serve_snapshots(mesh).mirror
        assert mirror is not None
        reader = mesh.reader("dp://sales/orders/orders")
        files = mesh.runtime.tables.files(reader.record.table_id, reader.publications()[-1].snapshot_id)
        copies = {mirror.path(uri) for uri in files.uris}
        with psycopg.connect(port.dsn(), autocommit=True) as con:
            assert con.execute("select count(*), sum(amount) from sales.orders__orders").fetchone() == (9, 90.0)
            assert all(copy.is_file() for copy in copies)
            for copy in copies:
                copy.unlink()  # evicted (or removed by an operator) while the opened scan is cached
            assert con.execute("select count(*), sum(amount) from sales.orders__orders").fetchone() == (9, 90.0)
            assert all(copy.is_file() for copy in copies)
    finally:
        loop.run(port.server.close())


def serve_snapshots(mesh: Workspace) -> SnapshotSource:
    return SnapshotSource(mesh.runtime)
