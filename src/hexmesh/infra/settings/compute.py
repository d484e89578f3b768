"""Settings of compute: the engine a transformation runs on, DuckDB's limits, Spark's master."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hexmesh.infra.settings._field import Base, key

__all__ = ["ABOUT", "ComputeSettings"]

#: What the section of the configuration reference says about these settings.
ABOUT = (
    "Engines run products' transformations over their inputs' Parquet files: DuckDB in process "
    "(the default, with bounded memory), or Apache Spark (`pip install 'hexmesh[spark]'`, Java 17). A product "
    "may name its engine in `transformation.engine`."
)


@dataclass(frozen=True)
class ComputeSettings(Base):
    """The engines transformations run on."""

    compute_engine: str = key(
        "duckdb",
        "HEXMESH_COMPUTE_ENGINE",
        "The engine a product's transformation runs on unless its spec names one (`transformation.engine`): "
        "`duckdb` (in process) or `spark`.",
        group="compute",
    )
    compute_memory_limit: str = key(
        "2GB",
        "HEXMESH_COMPUTE_MEMORY_LIMIT",
        "The memory DuckDB may use for one run's transformation (e.g. `2GB`, `512MB`; empty: DuckDB's default, "
        "80% of the machine); what does not fit spills to compute_spill_dir.",
        group="compute",
    )
    compute_spill_dir: str = key(
        "",
        "HEXMESH_COMPUTE_SPILL_DIR",
        "Where a transformation spills what does not fit in compute_memory_limit.",
        group="compute",
        shown="<home>/compute/spill",
    )
    compute_threads: int = key(
        0,
        "HEXMESH_COMPUTE_THREADS",
        "Threads DuckDB uses for one run's transformation (0: one per core).",
        group="compute",
    )

    spark_master: str = key(
        "local[2]",
        "HEXMESH_SPARK_MASTER",
        "The Spark master products on the `spark` engine run on: `local[N]` (in this process's JVM), "
        "`spark://host:7077` (a standalone cluster) or `sc://host:15002` (a Spark Connect server). A PySpark "
        "transformation's run starts a Spark Connect server of hexmesh's own on a `local` or `spark://` master, "
        "and stops it when the run ends.",
        group="compute",
    )
    spark_executor_memory: str = key(
        "1g",
        "HEXMESH_SPARK_EXECUTOR_MEMORY",
        "Memory of each Spark executor (`spark.executor.memory`, at least `450m`); a run whose executors run "
        "out of memory fails saying so: raise it.",
        group="compute",
    )
    spark_executor_wait: float = key(
        120.0,
        "HEXMESH_SPARK_EXECUTOR_WAIT",
        "Seconds a running Spark job may go without any executor (every worker lost, or none with room) before "
        "hexmesh cancels it and the run fails; a standalone cluster would otherwise wait for a worker forever.",
        group="compute",
    )

    @property
    def compute_spill(self) -> Path:
        return Path(self.compute_spill_dir).expanduser() if self.compute_spill_dir else self.home / "compute" / "spill"

    @property
    def compute_runs(self) -> Path:
        """Runs' private working folders (inputs linked or staged as Parquet, outputs before commit)."""
        return self.home / "compute" / "runs"
