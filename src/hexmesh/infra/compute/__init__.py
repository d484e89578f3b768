"""Engines that run transformations (the compute interface, docs/adr/0029-compute-engines.md).

One module per backend, opened by name through :func:`open_engine`; ``duckdb`` (embedded, the
default) needs nothing more, ``spark`` imports pyspark only when a product runs on it (the
``spark`` extra).
"""

from __future__ import annotations

import difflib

from hexmesh.errors import WorkspaceError
from hexmesh.infra.compute.duckdb import LockedDuckDB, SqlError
from hexmesh.infra.compute.engine import ComputeJob, Engine, ParquetInput, RunFolder, SqlText, StagedOutput
from hexmesh.infra.settings import Settings

__all__ = [
    "ENGINES",
    "ComputeJob",
    "Engine",
    "LockedDuckDB",
    "ParquetInput",
    "RunFolder",
    "SqlError",
    "SqlText",
    "StagedOutput",
    "open_engine",
]

#: The engines a product may name in ``transformation.engine`` (and the setting ``compute_engine``).
ENGINES = ("duckdb", "spark")


def open_engine(name: str, settings: Settings) -> Engine:
    """The engine called ``name``, configured by ``settings``."""
    if name == "duckdb":
        from hexmesh.infra.compute.embedded import EmbeddedEngine

        return EmbeddedEngine(
            memory_limit=settings.compute_memory_limit,
            spill=settings.compute_spill,
            threads=settings.compute_threads,
        )
    if name == "spark":
        from hexmesh.infra.compute.spark import SparkEngine

        return SparkEngine(
            settings.spark_master,
            executor_memory=settings.spark_executor_memory,
            executor_wait=settings.spark_executor_wait,
        )
    close = difflib.get_close_matches(name, ENGINES, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise WorkspaceError(
        f"compute engine {name!r} is unknown; {hint}engines: {', '.join(ENGINES)} "
        "(set transformation.engine in the product's spec, or the setting compute_engine)"
    )
