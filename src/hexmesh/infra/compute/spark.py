"""The Apache Spark engine: a standalone cluster, ``local[N]`` or a Spark Connect server runs a transformation's SQL.

No Iceberg jar is installable offline, so Spark never sees a catalog: it reads the Parquet files
hexmesh hands it (the run's input folder) and writes Parquet into the run's output folder, which
hexmesh then conforms, checks, seals and commits (docs/adr/0029-compute-engines.md). The SQL is
the product's DuckDB SQL transpiled by :mod:`.sparksql`. One Spark session per engine (per
process) is kept between runs: starting one costs tens of seconds. With a Spark Connect URL
(``sc://host:port``) the session is a gRPC client of a server that owns the driver: hexmesh starts
no JVM, and the server's own settings (executor memory) apply.
"""

from __future__ import annotations

import socket
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pyarrow.parquet as pq

from hexmesh.errors import TransformError, WorkspaceError
from hexmesh.infra.compute.engine import ComputeJob, ParquetInput, StagedOutput
from hexmesh.infra.compute.sparkjob import JobWatch, explain, watched
from hexmesh.infra.compute.sparksql import to_spark

if TYPE_CHECKING:
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

__all__ = ["SQL_CONF", "SparkEngine"]

_SESSION_LOCK = threading.Lock()
#: A Spark Connect URL's scheme, and the port a Connect server listens on unless told otherwise.
CONNECT = "sc://"
_CONNECT_PORT = 15002
#: Session settings hexmesh's SQL relies on (runtime settings: a Connect session takes them too).
SQL_CONF: dict[str, bool | float | int | str | None] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.sources.partitionOverwriteMode": "static",
    "spark.sql.ansi.enabled": "false",
}


class SparkEngine:
    """Spark SQL on ``master`` (``local[2]``, ``spark://host:7077``, ``sc://host:15002``)."""

    name = "spark"
    dialect = "spark"

    def __init__(
        self, master: str, *, executor_memory: str = "1g", executor_wait: float = 120.0, connect_timeout: float = 5.0
    ) -> None:
        self.master = master
        self.executor_memory = executor_memory
        self.executor_wait = executor_wait
        self.connect_timeout = connect_timeout
        self._session: SparkSession | None = None

    def run(self, job: ComputeJob) -> dict[str, StagedOutput]:
        spark = self.session()
        sql = {port: to_spark(text, job.inputs) for port, text in job.sql.items()}
        # Watched from the first Spark job on: reading the inputs' Parquet footers is one already.
        watch = JobWatch(self.executor_wait)
        try:
            with watched(self._context(spark), watch):
                for name, item in job.inputs.items():
                    try:
                        _frame(spark, item).createOrReplaceTempView(name)
                    except Exception as exc:
                        raise self._failed(exc, f"input port {name!r}", watch) from None
                return {
                    port: self._write(spark, job.sql[port].file, query, job.folder.output(port), port, watch)
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
            if self.master.startswith(CONNECT):
                self._session = _connect(self.master)
                return self._session
            builder = (
                SparkSession.builder.master(self.master)
                .appName("hexmesh")
                .config(map=SQL_CONF)
                .config("spark.executor.memory", self.executor_memory)
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
            )
            self._session = builder.getOrCreate()
            return self._session

    @contextmanager
    def connect_url(self) -> Iterator[str]:
        """``host:port`` of a Spark Connect server on this engine's master, for one PySpark run.

        With an ``sc://`` master, that server; otherwise one hexmesh starts on the master and
        stops afterwards (infra/compute/connectserver.py), so the driver is hexmesh's.
        """
        self._reachable()
        if self.master.startswith(CONNECT):
            address = urlsplit(self.master)
            yield f"{address.hostname}:{address.port or _CONNECT_PORT}"
            return
        from hexmesh.infra.compute.connectserver import connect_server

        with connect_server(self.master, {"spark.executor.memory": self.executor_memory}) as url:
            yield url

    def stop(self) -> None:
        with _SESSION_LOCK:
            if self._session is not None:
                self._session.stop()
                self._session = None

    def _reachable(self) -> None:
        """Fail fast, naming the setting, when a standalone master or a Connect server does not answer."""
        if not self.master.startswith(("spark://", CONNECT)):
            return
        address = urlsplit(self.master)
        default = _CONNECT_PORT if self.master.startswith(CONNECT) else 7077
        what = "Spark Connect server" if self.master.startswith(CONNECT) else "Spark master"
        try:
            with socket.create_connection((address.hostname or "", address.port or default), self.connect_timeout):
                pass
        except OSError as exc:
            raise TransformError(
                f"the {what} {self.master} is unreachable ({exc.strerror or exc}); start it, or set "
                "spark_master (HEXMESH_SPARK_MASTER) to a running master or local[2]. Nothing was published"
            ) from None

    def _write(
        self, spark: SparkSession, file: str, query: str, folder: Path, port: str, watch: JobWatch
    ) -> StagedOutput:
        from pyspark.errors import AnalysisException

        try:
            frame = spark.sql(query)
            frame.write.mode("overwrite").parquet(folder.as_uri())
        except AnalysisException as exc:  # the query itself: a name, a type, the syntax
            raise TransformError(f"{file}: Spark refused the query: {_first_line(exc)}") from None
        except Exception as exc:  # the job: a lost worker, an executor out of memory, a runtime error
            raise self._failed(exc, file, watch) from None
        files = tuple(str(p) for p in sorted(folder.glob("part-*.parquet")))
        if not files:
            raise TransformError(f"{file}: Spark wrote no Parquet file for port {port!r}")
        schema = pq.read_schema(files[0])
        rows = sum(pq.read_metadata(f).num_rows for f in files)
        return StagedOutput(port, files, schema.remove_metadata(), rows)

    def _failed(self, exc: Exception, file: str, watch: JobWatch) -> TransformError:
        return explain(exc, file=file, master=self.master, memory=self.executor_memory, watch=watch)

    def _context(self, spark: SparkSession) -> SparkContext | None:
        """The context whose executors the watchdog counts: a standalone cluster's, not local[N]'s nor Connect's."""
        if not self.master.startswith("spark://") or type(spark).__module__.startswith("pyspark.sql.connect"):
            return None
        return spark.sparkContext


def _connect(url: str) -> SparkSession:
    """A Spark Connect session on ``url``; the client needs grpcio (the ``spark`` extra pins it)."""
    from pyspark.sql import SparkSession

    try:
        with _pandas_tolerated():
            return SparkSession.builder.remote(url).config(map=SQL_CONF).getOrCreate()
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise WorkspaceError(
            f"a Spark Connect URL ({url}) needs the Connect client, which did not import ({exc}): pip install "
            "'hexmesh[spark]'; it cannot import in a process that already started a classic Spark session"
        ) from None


@contextmanager
def _pandas_tolerated() -> Iterator[None]:
    # pyspark's Connect client warns on import that it does not fully support pandas 3; it uses
    # pandas only for toPandas(), which hexmesh never calls (it reads the Parquet Spark writes).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
        yield


def _frame(spark: SparkSession, item: ParquetInput) -> Any:
    if not item.files:
        # From the schema, not an empty Arrow table: a Connect session cannot infer a schema from no rows.
        from pyspark.sql.pandas.types import from_arrow_schema

        return spark.createDataFrame([], from_arrow_schema(item.schema))
    return spark.read.parquet(*[Path(f).as_uri() for f in item.files])


def _stopped(session: SparkSession) -> bool:
    if type(session).__module__.startswith("pyspark.sql.connect"):
        return bool(getattr(session, "is_stopped", False))
    context = session.sparkContext
    return bool(getattr(context, "_jsc", None) is None)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
