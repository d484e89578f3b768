"""Run a product's README examples at deploy, as its owner, and keep what they gave.

Each fenced ``sql`` block runs statement by statement on the SQL port's engine in this process,
as the product's owner through the policy (the same decisions as ``psql`` with the owner's token),
against what the ports have published: before a first run the tables are empty and a valid query
passes with 0 rows.

Each fenced ``python`` block is the product's code, so it runs as its transformation does: in the
Landlock sandbox (ADR 0028, :mod:`hexmesh.product.sandbox`) within ``example_seconds``, with one
name bound, ``read("dp://<domain>/<name>/<port>")``: that output port's rows as the owner reads them
through the policy, a ``pyarrow.Table`` (ADR 0037). Only the ports the block names are read.

A failure is reported with its README line; it never undoes the deploy.
"""

from __future__ import annotations

import re

import pyarrow as pa

from hexmesh.errors import TransformError
from hexmesh.governance import Principal
from hexmesh.pgwire import PgError, RowsResult, SessionContext, split_statements
from hexmesh.product.deployed import DeployedProduct
from hexmesh.product.examples import ExampleResult, save_results
from hexmesh.product.policy import PolicySidecar, SqlPolicy
from hexmesh.product.runtime import Runtime
from hexmesh.product.sandbox import Limits, run_example
from hexmesh.product.sql import SqlPort
from hexmesh.product.sql.catalog import port_table_name
from hexmesh.spec import inside
from hexmesh.spec.examples import Example, examples

__all__ = ["ExampleResult", "run_examples"]


def run_examples(runtime: Runtime, product: DeployedProduct) -> list[ExampleResult]:
    """Run ``product``'s README examples as its owner; the results are saved for its discovery document."""
    spec = product.spec
    readme = inside(product.bundle, spec.docs)
    found = examples(readme.read_text(encoding="utf-8")) if readme is not None and readme.is_file() else []
    results: list[ExampleResult] = []
    if found:
        port = SqlPort(runtime, policy=SqlPolicy(PolicySidecar(runtime)))
        owner = Principal(spec.owner)
        results = [
            _sql(port, owner, e) if e.language == "sql" else _python(runtime, product, port, owner, e) for e in found
        ]
    save_results(runtime.storage, spec.key, spec.version, results)
    return results


def _session(port: SqlPort, owner: Principal) -> SessionContext:
    return SessionContext(user=owner.id, database="hexmesh", parameters={}, principal=owner, process_id=0)


def _sql(port: SqlPort, owner: Principal, example: Example) -> ExampleResult:
    session = port(_session(port, owner))
    rows = 0
    try:
        for statement in split_statements(example.code):
            result = session.execute(statement, [])
            if isinstance(result, RowsResult):
                try:
                    rows = sum(batch.num_rows for batch in result.batches)
                finally:
                    result.close()
    except PgError as exc:
        return ExampleResult(example.line, "sql", "failed", _pg_error(exc))
    finally:
        session.close()
    return ExampleResult(example.line, "sql", "passed", f"{rows} row{'' if rows == 1 else 's'}")


def _pg_error(exc: PgError) -> str:
    hint = f" ({exc.hint})" if exc.hint else ""
    return f"{exc.sqlstate}: {exc.message}{hint}"


def _python(
    runtime: Runtime, product: DeployedProduct, port: SqlPort, owner: Principal, example: Example
) -> ExampleResult:
    spec = product.spec
    named = set(re.findall(rf"dp://{re.escape(spec.key)}/([A-Za-z0-9_-]+)", example.code))
    ports = [p.name for p in spec.output_ports if p.name in named]
    try:
        tables = {name: _rows(port, owner, port_table_name(spec, name)) for name in ports}
    except PgError as exc:
        return ExampleResult(example.line, "python", "failed", f"reading its ports as {owner.id}: {_pg_error(exc)}")
    settings = runtime.settings
    seconds = settings.example_seconds
    limits = Limits(settings.python_memory_mb, seconds, wall=seconds + 5)  # start-up: a few seconds
    try:
        run_example(
            product.bundle,
            example.code,
            product=spec.key,
            first_line=example.line,
            tables=tables,
            limits=limits,
            home=settings.home,
        )
    except TransformError as exc:
        return ExampleResult(example.line, "python", "failed", str(exc))
    read = ", ".join(ports) or "no port"
    return ExampleResult(example.line, "python", "passed", f"ran in the sandbox (read: {read})")


def _rows(port: SqlPort, owner: Principal, table: str) -> pa.Table:
    """Every row of ``table`` the owner may read, shaped by the policy as the SQL port serves it."""
    session = port(_session(port, owner))
    try:
        result = session.execute(f"select * from {table}", [])
        assert isinstance(result, RowsResult), table
        try:
            return pa.Table.from_batches(list(result.batches), schema=result.schema)
        finally:
            result.close()
    finally:
        session.close()
