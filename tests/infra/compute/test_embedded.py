"""The embedded engine: DuckDB over a run's Parquet inputs, bounded memory, streamed Parquet outputs."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hexmesh.errors import TransformError
from hexmesh.infra.compute import ComputeJob, ParquetInput, RunFolder, SqlText
from hexmesh.infra.compute.embedded import EmbeddedEngine


def plays(folder: Path, name: str, first: int, count: int) -> str:
    path = folder / name
    pq.write_table(pa.table({"id": range(first, first + count), "podcast": [f"s{n % 3}" for n in range(count)]}), path)
    return str(path)


@pytest.fixture
def pinned(tmp_path: Path) -> ParquetInput:
    """Two data files of an upstream table, outside the run's folder (like a warehouse's)."""
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    files = (plays(warehouse, "a.parquet", 0, 30), plays(warehouse, "b.parquet", 30, 6))
    schema = pa.schema([("id", pa.int64()), ("podcast", pa.string())])
    return ParquetInput("plays", files, schema, 36)


def job(folder: RunFolder, sql: str, *inputs: ParquetInput) -> ComputeJob:
    return ComputeJob({i.name: i for i in inputs}, {"out": SqlText("transform.sql", sql)}, folder)


def test_a_query_over_parquet_inputs_is_staged_as_parquet(tmp_path: Path, pinned: ParquetInput) -> None:
    folder = RunFolder(tmp_path / "run")
    sql = "select podcast, count(*) as plays, sum(id) as ids from plays group by podcast order by podcast"
    (out,) = EmbeddedEngine().run(job(folder, sql, pinned)).values()
    table = pq.read_table(list(out.files))
    rows = pa.concat_tables([pq.read_table(f) for f in pinned.files]).to_pylist()
    expected = sorted({r["podcast"] for r in rows})
    assert table.column("podcast").to_pylist() == expected
    assert table.column("plays").to_pylist() == [sum(r["podcast"] == s for r in rows) for s in expected]
    assert table.column("ids").to_pylist() == [sum(r["id"] for r in rows if r["podcast"] == s) for s in expected]
    assert out.rows == len(expected) and out.schema == table.schema
    assert all(Path(f).is_relative_to(folder.outputs) for f in out.files)


def test_an_input_without_files_is_an_empty_table_of_its_schema(tmp_path: Path) -> None:
    empty = ParquetInput("plays", (), pa.schema([("id", pa.int64())]), 0)
    (out,) = EmbeddedEngine().run(job(RunFolder(tmp_path / "run"), "select id + 1 as next from plays", empty)).values()
    assert out.rows == 0 and out.schema.field("next").type == pa.int64()


def test_memory_limit_and_spill_folder_apply(tmp_path: Path, pinned: ParquetInput) -> None:
    engine = EmbeddedEngine(memory_limit="100MB", spill=tmp_path / "spill", threads=1)
    sql = (
        "select current_setting('memory_limit') as m, current_setting('temp_directory') as t, "
        "current_setting('threads') as n from plays limit 1"
    )
    (out,) = engine.run(job(RunFolder(tmp_path / "run"), sql, pinned)).values()
    (row,) = pq.read_table(list(out.files)).to_pylist()
    assert row == {"m": "95.3 MiB", "t": str(tmp_path / "spill"), "n": 1}


def test_a_memory_limit_duckdb_cannot_read_is_refused_clearly(tmp_path: Path, pinned: ParquetInput) -> None:
    engine = EmbeddedEngine(memory_limit="plenty")
    with pytest.raises(TransformError, match=r"compute_memory_limit 'plenty' .* write it like '2GB'"):
        engine.run(job(RunFolder(tmp_path / "run"), "select 1 from plays", pinned))


@pytest.mark.parametrize("statement", ["copy", "export", "attach", "load"])
def test_a_transformation_cannot_write_over_its_pinned_inputs(
    tmp_path: Path, pinned: ParquetInput, statement: str
) -> None:
    folder = RunFolder(tmp_path / "run")
    target = folder.input("plays") / "pinned-00000.parquet"  # a hard link to the upstream's data file
    sql = {
        "copy": f"copy (select 1 as id) to '{target}' (format parquet);\nselect * from plays",
        "export": f"export database '{folder.inputs}';\nselect * from plays",
        "attach": f"attach '{folder.inputs}/x.db';\nselect * from plays",
        "load": "load httpfs;\nselect * from plays",
    }[statement]
    before = pq.read_table(pinned.files[0])
    with pytest.raises(TransformError, match=rf"transform\.sql:1: a {statement.upper()} statement cannot run"):
        EmbeddedEngine().run(job(folder, sql, pinned))
    assert pq.read_table(pinned.files[0]).equals(before)


@pytest.mark.parametrize("query", ["select * from read_parquet('{outside}')", "select * from read_csv('/etc/passwd')"])
def test_sql_reads_nothing_but_the_runs_inputs(tmp_path: Path, pinned: ParquetInput, query: str) -> None:
    sql = "select 1 as x;\n" + query.format(outside=pinned.files[0])
    with pytest.raises(TransformError, match=r"transform\.sql:2: .*file and network access are disabled"):
        EmbeddedEngine().run(job(RunFolder(tmp_path / "run"), sql, pinned))


def test_pinned_files_reach_the_engine_as_hard_links(tmp_path: Path, pinned: ParquetInput) -> None:
    folder = RunFolder(tmp_path / "run")
    EmbeddedEngine().run(job(folder, "select count(*) as n from plays", pinned))
    linked = sorted((folder.input("plays")).iterdir())
    assert [os.stat(p).st_ino for p in linked] == [os.stat(f).st_ino for f in pinned.files]


def test_a_failure_while_computing_names_the_file(tmp_path: Path, pinned: ParquetInput) -> None:
    sql = "select cast(podcast as integer) as n\nfrom plays"
    with pytest.raises(TransformError, match=r"transform\.sql.*Conversion Error"):
        EmbeddedEngine().run(job(RunFolder(tmp_path / "run"), sql, pinned))
