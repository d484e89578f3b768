"""Run a product's transformation: SQL on locked-down DuckDB, a Python function, or a pass-through."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from hexmesh.errors import TransformError
from hexmesh.infra.compute import LockedDuckDB, SqlError
from hexmesh.infra.settings import Settings
from hexmesh.product.deployed import DeployedProduct
from hexmesh.product.sandbox import Limits, run_python
from hexmesh.spec import inside

__all__ = ["transform"]


def transform(
    product: DeployedProduct, engine: LockedDuckDB, inputs: dict[str, pa.Table], settings: Settings
) -> dict[str, pa.Table]:
    """One Arrow table per output port, computed from the input tables.

    SQL runs on the locked-down engine; Python in a confined process (``hexmesh.product.sandbox``)
    within the limits of the spec and the node's ``settings``.
    """
    spec = product.spec
    outputs = [p.name for p in spec.output_ports]
    code = spec.transformation
    if code is None:
        (table,) = inputs.values()
        return {outputs[0]: table}
    if code.python is not None:
        return _python(product, code.python, inputs, outputs, settings)
    files = {outputs[0]: code.sql} if isinstance(code.sql, str) else dict(code.sql or {})
    return {port: _sql(_code_file(product, file, "SQL"), engine, inputs) for port, file in files.items()}


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


def _sql(file: Path, engine: LockedDuckDB, inputs: dict[str, pa.Table]) -> pa.Table:
    try:
        sql = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise TransformError(f"{file.name} is not UTF-8 text ({exc.reason}); save it as UTF-8") from None
    try:
        return engine.query(sql, inputs)
    except SqlError as exc:
        where = f"{file.name}:{exc.line}" if exc.line else file.name
        hint = (
            " (file and network access are disabled: read data through input ports)"
            if exc.kind == "PermissionException"
            else ""
        )
        raise TransformError(f"{where}: {exc.message}{hint}") from None


def _python(
    product: DeployedProduct, target: str, inputs: dict[str, pa.Table], outputs: list[str], settings: Settings
) -> dict[str, pa.Table]:
    file_name = target.split(":", 1)[0]
    _code_file(product, file_name, "Python")
    asked = product.spec.transformation.limits if product.spec.transformation else None
    limits = Limits.of(
        settings.python_memory_mb,
        settings.python_cpu_seconds,
        asked.memory_mb if asked else None,
        asked.cpu_seconds if asked else None,
    )
    module = f"hexmesh_transform_{product.spec.domain}_{product.spec.name}".replace("-", "_")
    result = run_python(product.bundle, target, inputs, limits=limits, home=settings.home, module=module)
    return _as_outputs(result, outputs, target)


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
