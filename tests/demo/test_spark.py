"""``hexmesh demo --engine spark`` on a standalone cluster publishes what the DuckDB demo publishes."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from hexmesh.demo import run_demo
from hexmesh.demo.database import POSTGRES_VARIABLE
from hexmesh.demo.deliveries import Landing
from hexmesh.demo.run import SEED
from hexmesh.lifecycle import Workspace

SCALE = 0.01
HEXMESH = Path(sys.executable).parent / "hexmesh"

Rows = dict[str, list[tuple[str, ...]]]


def published(workspace: Workspace) -> tuple[Rows, dict[str, str]]:
    """Every output port's rows (sorted, as text), and the engine each product's last run used."""
    rows: Rows = {}
    engines: dict[str, str] = {}
    for key, product in sorted(workspace.deployed().items()):
        for port in product.spec.output_ports:
            table = workspace.read(f"dp://{key}/{port.name}")
            rows[f"{key}/{port.name}"] = sorted(tuple(str(v) for v in r.values()) for r in table.to_pylist())
        runs = workspace.runtime.state.runs(key)
        if runs:
            engines[key] = str(runs[0].details.get("engine"))  # newest first
    return rows, engines


@pytest.mark.spark
@pytest.mark.slow
def test_the_demo_on_spark_publishes_what_the_duckdb_demo_publishes(tmp_path: Path, spark_master: str) -> None:
    # As a user would: the command, a clean folder, the master in the environment.
    env = {k: v for k, v in os.environ.items() if k != POSTGRES_VARIABLE and not k.startswith("HEXMESH_")}
    env["HEXMESH_SPARK_MASTER"] = spark_master
    home = tmp_path / "spark"
    done = subprocess.run(
        [str(HEXMESH), "demo", "--engine", "spark", "--home", str(home), "--scale", str(SCALE), "--days", "2",
         "--no-story", "--no-governance"],
        capture_output=True, text=True, env=env, check=False, timeout=1800,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    last = Landing.open(home / "landing", scale=SCALE, seed=SEED).last_day
    assert last is not None
    with Workspace.open(home) as workspace:
        on_spark, engines = published(workspace)
    # The same days on DuckDB, in process.
    saved = os.environ.pop(POSTGRES_VARIABLE, None)
    try:
        with Workspace.open(tmp_path / "duckdb") as workspace:
            run_demo(workspace, scale=SCALE, days=2, say=lambda *_: None, today=last + timedelta(days=1))
            on_duckdb, _ = published(workspace)
    finally:
        if saved is not None:
            os.environ[POSTGRES_VARIABLE] = saved
    assert "spark" in engines.values(), engines  # SQL products ran on Spark
    assert on_duckdb and all(on_duckdb.values())
    assert on_spark.keys() == on_duckdb.keys()
    for address, rows in on_duckdb.items():
        assert on_spark[address] == rows, address
