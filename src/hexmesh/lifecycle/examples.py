"""Run a product's README examples at deploy, as its owner, and keep what they gave.

Each fenced ``sql`` block runs statement by statement on the SQL port's engine in this process,
as the product's owner through the policy (the same decisions as ``psql`` with the owner's token),
against what the ports have published: before a first run the tables are empty and a valid query
passes with 0 rows. A failure is reported with its README line; it never undoes the deploy.
Python blocks need a node to connect to and are reported as not run.
"""

from __future__ import annotations

from hexmesh.governance import Principal
from hexmesh.pgwire import PgError, RowsResult, SessionContext, split_statements
from hexmesh.product.deployed import DeployedProduct
from hexmesh.product.examples import ExampleResult, save_results
from hexmesh.product.policy import PolicySidecar, SqlPolicy
from hexmesh.product.runtime import Runtime
from hexmesh.product.sql import SqlPort
from hexmesh.spec import inside
from hexmesh.spec.examples import Example, examples

__all__ = ["ExampleResult", "run_examples"]


def run_examples(runtime: Runtime, product: DeployedProduct) -> list[ExampleResult]:
    """Run ``product``'s README examples as its owner; the results are saved for its discovery document."""
    spec = product.spec
    readme = inside(product.bundle, spec.docs)
    found = examples(readme.read_text(encoding="utf-8")) if readme is not None and readme.is_file() else []
    results: list[ExampleResult] = []
    if any(e.language == "sql" for e in found):
        port = SqlPort(runtime, policy=SqlPolicy(PolicySidecar(runtime)))
        owner = Principal(spec.owner)
        results = [_sql(port, owner, e) if e.language == "sql" else _not_run(e) for e in found]
    else:
        results = [_not_run(e) for e in found]
    save_results(runtime.settings.home, spec.key, spec.version, results)
    return results


def _not_run(example: Example) -> ExampleResult:
    return ExampleResult(example.line, example.language, "not-run", "Python examples need a node: not run at deploy")


def _sql(port: SqlPort, owner: Principal, example: Example) -> ExampleResult:
    context = SessionContext(user=owner.id, database="hexmesh", parameters={}, principal=owner, process_id=0)
    session = port(context)
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
        hint = f" ({exc.hint})" if exc.hint else ""
        return ExampleResult(example.line, "sql", "failed", f"{exc.sqlstate}: {exc.message}{hint}")
    finally:
        session.close()
    return ExampleResult(example.line, "sql", "passed", f"{rows} row{'' if rows == 1 else 's'}")
