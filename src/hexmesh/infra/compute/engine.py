"""The compute interface: an engine turns pinned Parquet inputs and a transformation into staged Parquet.

An engine sees files, never tables or catalogs: the product hands it each input port's data as
Parquet files with their Arrow schema (a pinned snapshot's own data files, or files hexmesh
staged), and gets back, per output port, Parquet files it wrote into the run's folder. What a
product owes its users whatever engine ran (conforming to the declared schema, the quality
gate, sealing, the all-ports-or-none commit, lineage) stays with the product
(docs/adr/0029-compute-engines.md).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["ComputeJob", "Engine", "ParquetInput", "RunFolder", "SqlText", "StagedOutput"]


@dataclass(frozen=True)
class ParquetInput:
    """One input port's rows: Parquet files (local paths) and the schema the transformation sees."""

    name: str
    files: tuple[str, ...]
    schema: pa.Schema
    rows: int

    def to_arrow(self) -> pa.Table:
        """The rows as one Arrow table (for transformations that need them in memory)."""
        if not self.files:
            return self.schema.empty_table()
        return pq.read_table(list(self.files), schema=self.schema)


@dataclass(frozen=True)
class SqlText:
    """A transformation's SQL and the file it came from (errors name the file and line)."""

    file: str
    text: str


@dataclass(frozen=True)
class ComputeJob:
    """What an engine runs: one query per output port over the inputs, each a table by port name."""

    inputs: dict[str, ParquetInput]
    sql: dict[str, SqlText]
    folder: RunFolder


@dataclass(frozen=True)
class StagedOutput:
    """An output port's rows as written by an engine: Parquet files and their schema."""

    port: str
    files: tuple[str, ...]
    schema: pa.Schema
    rows: int

    def to_arrow(self) -> pa.Table:
        if not self.files:
            return self.schema.empty_table()
        return pq.read_table(list(self.files), schema=self.schema)


class Engine(Protocol):
    """A compute engine (one module per backend, chosen by name: hexmesh.infra.compute.open_engine)."""

    name: str
    #: The SQL dialect transformations are written in, as sqlglot names it.
    dialect: str

    def run(self, job: ComputeJob) -> dict[str, StagedOutput]:
        """Run every query of ``job``; raise :class:`hexmesh.errors.TransformError` naming file and line."""
        ...

    def stop(self) -> None:
        """Release what the engine holds between runs (a Spark session and its JVM)."""
        ...


@dataclass
class RunFolder:
    """A run's private working folder: ``in/<port>/`` for staged inputs, ``out/<port>/`` for outputs,
    ``candidate/<port>/`` for conformed outputs.

    Removed with everything in it when the run ends (:meth:`remove`), succeeded or not.
    """

    root: Path
    _made: set[Path] = field(default_factory=set)

    @property
    def inputs(self) -> Path:
        return self._dir(self.root / "in")

    @property
    def outputs(self) -> Path:
        return self._dir(self.root / "out")

    def input(self, port: str) -> Path:
        return self._dir(self.inputs / port)

    def output(self, port: str) -> Path:
        return self._dir(self.outputs / port)

    def candidate(self, port: str) -> Path:
        """Where the product keeps a port's conformed rows before they are checked and committed."""
        return self._dir(self.root / "candidate" / port)

    def _dir(self, path: Path) -> Path:
        if path not in self._made:
            path.mkdir(parents=True, exist_ok=True)
            self._made.add(path)
        return path

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        self._made.clear()
