"""Run a product's transformation on its engine: SQL, a Python function, or a pass-through.

Inputs arrive as Parquet files and outputs leave as staged Parquet files per port
(infra/compute/engine.py), whichever engine ran.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from hexmesh.errors import TransformError
from hexmesh.infra.compute import ComputeJob, Engine, ParquetInput, RunFolder, SqlText, StagedOutput
from hexmesh.infra.settings import Settings
from hexmesh.product.deployed import DeployedProduct
from hexmesh.product.sandbox import Limits, run_pyspark, run_python
from hexmesh.spec import inside

__all__ = ["transform"]


def transform(
    product: DeployedProduct,
    engine: Engine,
    inputs: dict[str, ParquetInput],
    folder: RunFolder,
    settings: Settings,
) -> dict[str, StagedOutput]:
    """Staged Parquet files per output port, computed from the inputs' files.

    SQL runs on ``engine``; Python in a confined process (``hexmesh.product.sandbox``) within the
    limits of the spec and the node's ``settings``.
    """
    spec = product.spec
    outputs = [p.name for p in spec.output_ports]
    code = spec.transformation
    if code is None:
        (item,) = inputs.values()
        return {outputs[0]: StagedOutput(outputs[0], item.files, item.schema, item.rows)}
    if code.python is not None and engine.name == "spark":
        return _pyspark(product, engine, code.python, inputs, folder, outputs, settings)
    if code.python is not None:
        tables = {name: item.to_arrow() for name, item in inputs.items()}
        built = _python(product, code.python, tables, outputs, settings)
        return {port: _written(folder, port, table) for port, table in built.items()}
    files = {outputs[0]: code.sql} if isinstance(code.sql, str) else dict(code.sql or {})
    sql = {port: SqlText(file, _sql_text(_code_file(product, file, "SQL"))) for port, file in files.items()}
    return engine.run(ComputeJob(inputs, sql, folder))


def _written(folder: RunFolder, port: str, table: pa.Table) -> StagedOutput:
    path = folder.output(port) / "part-00000.parquet"
    pq.write_table(table, path)
    return StagedOutput(port, (str(path),), table.schema, table.num_rows)


def _code_file(product: DeployedProduct, name: str, kind: str) -> Path:
    """A file of the deployed bundle; a path leading out of it (``../../etc/passwd``) fails the run."""
    path = inside(product.bundle, name)
    if path is None:
        raise TransformError(
            f"{kind} file {name!r} leads outside the product's bundle, so it was not read; name a file of the "
            "product folder, relative to it, and deploy again"
        )
    if not path.is_file():
        raise TransformError(f"{kind} file {name!r} is not in the product's bundle; add it and deploy again")
    return path


def _sql_text(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise TransformError(f"{file.name} is not UTF-8 text ({exc.reason}); save it as UTF-8") from None


def _python(
    product: DeployedProduct, target: str, inputs: dict[str, pa.Table], outputs: list[str], settings: Settings
) -> dict[str, pa.Table]:
    file_name = target.split(":", 1)[0]
    _code_file(product, file_name, "Python")
    limits = _limits(product, settings)
    module = f"hexmesh_transform_{product.spec.domain}_{product.spec.name}".replace("-", "_")
    result = run_python(product.bundle, target, inputs, limits=limits, home=settings.home, module=module)
    return _as_outputs(result, outputs, target)


def _pyspark(
    product: DeployedProduct,
    engine: Engine,
    target: str,
    inputs: dict[str, ParquetInput],
    folder: RunFolder,
    outputs: list[str],
    settings: Settings,
) -> dict[str, StagedOutput]:
    """``def build(spark, inputs)`` confined, its session a Connect client of hexmesh's door (ADR 0038)."""
    from hexmesh.infra.compute.spark import SQL_CONF, SparkEngine

    assert isinstance(engine, SparkEngine)
    _code_file(product, target.split(":", 1)[0], "Python")
    module = f"hexmesh_transform_{product.spec.domain}_{product.spec.name}".replace("-", "_")
    given = {name: (item.files, item.schema) for name, item in inputs.items()}
    written = {port: folder.output(port) for port in outputs}
    conf = {key: value for key, value in SQL_CONF.items() if value is not None}
    with engine.connect_url() as upstream:
        run_pyspark(product.bundle, target, given, written, upstream=upstream, conf=conf,
                    limits=_limits(product, settings), home=settings.home, module=module)  # fmt: skip
    return {port: _staged(target, port, path) for port, path in written.items()}


def _staged(target: str, port: str, folder: Path) -> StagedOutput:
    files = tuple(str(p) for p in sorted(folder.glob("part-*.parquet")))
    if not files:
        raise TransformError(f"{target}: Spark wrote no Parquet file for port {port!r}")
    schema = pq.read_schema(files[0]).remove_metadata()
    return StagedOutput(port, files, schema, sum(pq.read_metadata(f).num_rows for f in files))


def _limits(product: DeployedProduct, settings: Settings) -> Limits:
    asked = product.spec.transformation.limits if product.spec.transformation else None
    return Limits.of(
        settings.python_memory_mb,
        settings.python_cpu_seconds,
        asked.memory_mb if asked else None,
        asked.cpu_seconds if asked else None,
    )


def _as_outputs(result: Any, outputs: list[str], target: str) -> dict[str, pa.Table]:
    if not isinstance(result, dict):
        if len(outputs) != 1:
            raise TransformError(
                f"{target} returned one table but the product has {len(outputs)} output ports; "
                f"return a dict keyed by port name ({', '.join(outputs)})"
            )
        result = {outputs[0]: result}
    missing = [p for p in outputs if p not in result]
    unknown = [p for p in result if p not in outputs]
    if missing or unknown:
        raise TransformError(f"{target} returned tables for {sorted(result)}, expected exactly {outputs}")
    return {port: _to_arrow(table, target, port) for port, table in result.items()}


def _to_arrow(value: Any, target: str, port: str) -> pa.Table:
    if isinstance(value, pa.Table):
        return value
    # The sandbox converts what speaks the Arrow C stream (pandas, polars) and names anything else.
    kind = value[1:] if isinstance(value, str) and value.startswith("!") else type(value).__name__
    raise TransformError(
        f"{target} returned {kind} for port {port!r}; return a pyarrow.Table (or a pandas/polars DataFrame)"
    )
