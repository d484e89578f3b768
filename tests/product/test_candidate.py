"""A run's output stays on disk from the engine to the commit (hexmesh.product.candidate)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hexmesh.errors import SchemaMismatchError
from hexmesh.lifecycle import Workspace
from tests.support import ORDERS_SPEC, ProductFactory, orders_csv

# One product, N generated rows; the required ordered_at is null on every 1000th row when asked.
_SQL = """
select range + 1 as order_id, 'c' || (range % 7) as customer,
       case when {nulls} and range % 1000 = 0 then null else timestamp '2026-01-01' + to_seconds(range) end
           as ordered_at,
       1.5 as amount
from range({rows})
"""

# Peak bytes held by Arrow's memory pool over one run, in a fresh process; staged data files of
# 8 MiB of rows (instead of 128) so that the bound shows at a size a test can afford.
_PEAK = """
import sys
from pathlib import Path
import pyarrow as pa
import hexmesh.infra.tables.iceberg as iceberg
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
iceberg.FILE_BYTES = 8 << 20
workspace = Workspace(Settings.defaults(Path(sys.argv[1])))
workspace.deploy([Path(sys.argv[2])])
result = workspace.run("sales/orders")
workspace.close()
print(result.rows["orders"], pa.default_memory_pool().max_memory())
"""


def _generated(make_product: ProductFactory, name: str, rows: int, *, nulls: bool = False) -> Path:
    sql = _SQL.format(rows=rows, nulls="true" if nulls else "false")
    return make_product(name, ORDERS_SPEC, {"transform.sql": sql, "data/a.csv": orders_csv(1, 2)})


def _peak(tmp_path: Path, product: Path, name: str) -> tuple[int, int]:
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, str(tmp_path / name), str(product)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows, peak = done.stdout.split()[-2:]
    return int(rows), int(peak)


def test_a_runs_memory_does_not_grow_with_its_output(tmp_path: Path, make_product: ProductFactory) -> None:
    # Held in memory, 2M rows of this output take 60+ MiB of Arrow, four times what 0.5M take.
    small = _peak(tmp_path, _generated(make_product, "small", 500_000), "small")
    large = _peak(tmp_path, _generated(make_product, "large", 2_000_000), "large")
    assert (small[0], large[0]) == (500_000, 2_000_000)
    assert large[1] < 1.5 * small[1], f"peak Arrow memory {small[1]} B for 0.5M rows, {large[1]} B for 2M"


def test_a_large_output_is_published_whole_in_several_files(
    workspace: Workspace, make_product: ProductFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("hexmesh.infra.tables.iceberg.FILE_BYTES", 1 << 20)
    workspace.deploy([_generated(make_product, "orders", 300_000)])
    assert workspace.run("sales/orders").rows == {"orders": 300_000}
    reader = workspace.reader("dp://sales/orders/orders")
    table = workspace.runtime.tables.load(reader.record.table_id)
    assert len(list(table.scan().plan_files())) > 1
    rows = table.scan().to_arrow()
    assert rows.num_rows == 300_000
    assert sorted(rows.column("order_id").to_pylist()) == list(range(1, 300_001))


def test_nulls_in_a_required_field_are_counted_over_every_batch(
    workspace: Workspace, make_product: ProductFactory
) -> None:
    # 200,000 rows stream in several batches; every 1000th row has no ordered_at.
    workspace.deploy([_generated(make_product, "orders", 200_000, nulls=True)])
    with pytest.raises(SchemaMismatchError, match=r"required field 'ordered_at' has 200 null value\(s\)"):
        workspace.run("sales/orders")
    assert workspace.reader("dp://sales/orders/orders").publications() == []
