"""The Apache Spark engine: a standalone cluster (or ``local[N]``) runs a transformation's SQL.

No Iceberg jar is installable offline, so Spark never sees a catalog: it reads the Parquet files
hexmesh hands it (the run's input folder) and writes Parquet into the run's output folder, which
hexmesh then conforms, checks, seals and commits (docs/adr/0029-compute-engines.md). The SQL is
the product's DuckDB SQL transpiled by :mod:`.sparksql`. One Spark session per engine (per
process) is kept between runs: starting one costs tens of seconds.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pyarrow.parquet as pq

from hexmesh.errors import TransformError, WorkspaceError
from hexmesh.infra.compute.engine import ComputeJob, ParquetInput, StagedOutput
from hexmesh.infra.compute.sparksql import to_spark

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["SparkEngine"]

_SESSION_LOCK = threading.Lock()


class SparkEngine:
    """Spark SQL on ``master`` (``local[2]``, ``spark://host:7077``)."""

    name = "spark"
    dialect = "spark"

    def __init__(self, master: str, *, executor_memory: str = "1g", connect_timeout: float = 5.0) -> None:
        self.master = master
        self.executor_memory = executor_memory
        self.connect_timeout = connect_timeout
        self._session: SparkSession | None = None

    def run(self, job: ComputeJob) -> dict[str, StagedOutput]:
        spark = self.session()
        sql = {port: to_spark(text, job.inputs) for port, text in job.sql.items()}
        try:
            for name, item in job.inputs.items():
                _frame(spark, item).createOrReplaceTempView(name)
            return {
                port: self._write(spark, job.sql[port].file, query, job.folder.output(port), port)
                for port, query in sql.items()
            }
        finally:
            for name in job.inputs:
                spark.catalog.dropTempView(name)

    def session(self) -> SparkSession:
        """The engine's Spark session, started on first use."""
        with _SESSION_LOCK:
            if self._session is not None and not _stopped(self._session):
                return self._session
            try:
                from pyspark.sql import SparkSession
            except ImportError:  # pragma: no cover - depends on the installation
                raise WorkspaceError(
                    "the Spark engine needs pyspark: pip install 'hexmesh[spark]' (and Java 17)"
                ) from None
            self._reachable()
            builder = (
                SparkSession.builder.master(self.master)
                .appName("hexmesh")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
                .config("spark.sql.sources.partitionOverwriteMode", "static")
                .config("spark.executor.memory", self.executor_memory)
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.ansi.enabled", "false")
            )
            self._session = builder.getOrCreate()
            return self._session

    def stop(self) -> None:
        with _SESSION_LOCK:
            if self._session is not None:
                self._session.stop()
                self._session = None

    def _reachable(self) -> None:
        """Fail fast, naming the setting, when a standalone master does not answer."""
        if not self.master.startswith("spark://"):
            return
        address = urlsplit(self.master)
        try:
            with socket.create_connection((address.hostname or "", address.port or 7077), self.connect_timeout):
                pass
        except OSError as exc:
            raise TransformError(
                f"the Spark master {self.master} is unreachable ({exc.strerror or exc}); start it, or set "
                "spark_master (HEXMESH_SPARK_MASTER) to a running master or local[2]. Nothing was published"
            ) from None

    def _write(self, spark: SparkSession, file: str, query: str, folder: Path, port: str) -> StagedOutput:
        from pyspark.errors import PySparkException

        try:
            frame = spark.sql(query)
            frame.write.mode("overwrite").parquet(folder.as_uri())
        except PySparkException as exc:
            raise TransformError(f"{file}: Spark refused the query: {_first_line(exc)}") from None
        except Exception as exc:  # py4j errors: the cluster, not the query (a lost worker, no master)
            raise TransformError(f"{file}: the Spark job failed: {type(exc).__name__}: {_first_line(exc)}") from None
        files = tuple(str(p) for p in sorted(folder.glob("part-*.parquet")))
        if not files:
            raise TransformError(f"{file}: Spark wrote no Parquet file for port {port!r}")
        schema = pq.read_schema(files[0])
        rows = sum(pq.read_metadata(f).num_rows for f in files)
        return StagedOutput(port, files, schema.remove_metadata(), rows)


def _frame(spark: SparkSession, item: ParquetInput) -> Any:
    if not item.files:
        return spark.createDataFrame(item.schema.empty_table())
    return spark.read.parquet(*[Path(f).as_uri() for f in item.files])


def _stopped(session: SparkSession) -> bool:
    context = session.sparkContext
    return bool(getattr(context, "_jsc", None) is None)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
