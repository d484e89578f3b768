"""The quality gate: declared checks run on a run's candidate output before anything is published.

Checks see plaintext (they run before restricted fields are sealed), but what they report is
kept at rest (run records, observability, error messages): so a result never holds the plaintext
of a restricted (sealed) field. Example rows show ``[sealed]`` in its place, and any of its values
quoted in a detail (a failed cast names the value) is replaced the same way; ``forget`` then has
no plaintext copy to chase.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from hexmesh.governance.encryption import restricted_fields
from hexmesh.infra.compute import LockedDuckDB
from hexmesh.infra.compute.duckdb import failure
from hexmesh.product.metrics import (
    compare,
    describe_threshold,
    duplicate_rows,
    metric_value,
    metric_where,
    option_checks,
    quote,
)
from hexmesh.spec import OutputPort, QualityCheck, parse_duration

__all__ = ["SEALED_VALUE", "CheckResult", "run_checks"]

_EXAMPLES = 5
#: What a check result shows in place of a restricted field's value.
SEALED_VALUE = "[sealed]"


@dataclass
class CheckResult:
    """The outcome of one check on one port, with example rows when it failed."""

    port: str
    check: str
    kind: str
    passed: bool
    detail: str
    examples: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_q = quote


def implied_checks(port: OutputPort) -> list[QualityCheck]:
    """Checks the schema implies: the primary key and every field declared ``unique``."""
    checks = []
    if port.primary_key:
        checks.append(QualityCheck.model_validate({"name": "primaryKey", "unique": port.primary_key}))
    for spec_field in port.properties:
        if spec_field.unique and [spec_field.name] != port.primary_key:
            checks.append(
                QualityCheck.model_validate({"name": f"unique({spec_field.name})", "unique": [spec_field.name]})
            )
    return checks


def run_checks(
    port: OutputPort,
    table: pa.Table | ds.Dataset,
    engine: LockedDuckDB,
    now: datetime,
    *,
    checks: list[QualityCheck] | None = None,
    aliases: tuple[str, ...] = (),
) -> list[CheckResult]:
    """Run the port's declared checks, plus those its schema implies, on ``table``.

    ``table`` may be a dataset of Parquet files: DuckDB then scans it as it needs, never all in memory.

    ``checks`` replaces the port's own (``hexmesh test`` runs a contract's); ``aliases`` are more
    names the rows answer to inside SQL checks (a contract's name for the table).
    """
    declared = implied_checks(port) + list(port.quality if checks is None else checks)
    tables = {port.name: table, **{alias: table for alias in aliases if alias.lower() != port.name.lower()}}
    con = engine.connect(tables)
    try:
        results = [_run(con, port, check, now) for check in declared]
        results.extend(_options(con, port))
    finally:
        con.close()
    return _without_sealed(port, table, results)


def _without_sealed(port: OutputPort, table: pa.Table | ds.Dataset, results: list[CheckResult]) -> list[CheckResult]:
    """``results`` with no plaintext of the port's restricted fields (see the module's doc)."""
    sealed = [name for name in restricted_fields(port) if name in table.schema.names]
    failed = [r for r in results if not r.passed]
    if not sealed or not failed:
        return results
    columns = table if isinstance(table, pa.Table) else table.to_table(columns=sealed)
    values = {str(v) for name in sealed for v in pc.unique(columns.column(name)).to_pylist() if v not in (None, "")}
    for result in failed:
        result.examples = [
            {k: SEALED_VALUE if k in sealed and v is not None else v for k, v in row.items()} for row in result.examples
        ]
        if any(value in result.detail for value in values):
            for value in sorted(values, key=len, reverse=True):
                result.detail = result.detail.replace(value, SEALED_VALUE)
    return results


def _run(con: duckdb.DuckDBPyConnection, port: OutputPort, check: QualityCheck, now: datetime) -> CheckResult:
    try:
        passed, detail, examples = _evaluate(con, port, check, now)
    except duckdb.Error as exc:
        passed, detail, examples = False, f"the check could not run: {failure(exc)}", []
    return CheckResult(port.name, check.label, check.kind, passed, detail, examples)


def _options(con: duckdb.DuckDBPyConnection, port: OutputPort) -> list[CheckResult]:
    """One check per logicalTypeOptions key of every field (minimum, maxLength, pattern, enum...)."""
    results = []
    table = _q(port.name)
    for spec_field in port.properties:
        if spec_field.logical_type_options is None:
            continue
        for key, where, promise in option_checks(
            spec_field.name, spec_field.logical_type, spec_field.logical_type_options
        ):
            label = f"logicalTypeOptions.{key}({spec_field.name})"
            try:
                bad = _count(con, f"select count(*) from {table} where {where}")
                detail = f"{bad} row(s) where {spec_field.name} is not {promise}"
                examples = _rows(con, f"select * from {table} where {where} limit {_EXAMPLES}") if bad else []
                passed = bad == 0
            except duckdb.Error as exc:
                passed, detail, examples = False, f"the check could not run: {failure(exc)}", []
            results.append(CheckResult(port.name, label, "logicalTypeOptions", passed, detail, examples))
    return results


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    """Up to five offending rows; only fetched for a failing check (a second scan costs)."""
    # Through Arrow: DuckDB's Python conversion of time zones would need pytz.
    rows = con.sql(sql).to_arrow_table().to_pylist()
    return [{k: _plain(v) for k, v in row.items()} for row in rows]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.sql(sql).to_arrow_table()[0][0].as_py())


def _literal(value: str | int | float | bool) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return "'" + text.replace("'", "''") + "'"


def _evaluate(
    con: duckdb.DuckDBPyConnection, port: OutputPort, check: QualityCheck, now: datetime
) -> tuple[bool, str, list[dict[str, Any]]]:
    table = _q(port.name)
    if check.not_null is not None:
        where = " or ".join(f"{_q(c)} is null" for c in check.not_null)
        bad = _count(con, f"select count(*) from {table} where {where}")
        return (
            bad == 0,
            f"{bad} row(s) with nulls",
            _rows(con, f"select * from {table} where {where} limit {_EXAMPLES}") if bad else [],
        )
    if check.unique is not None:
        cols = ", ".join(_q(c) for c in check.unique)
        dupes = f"select {cols}, count(*) as occurrences from {table} group by {cols} having count(*) > 1"
        bad = _count(con, f"select count(*) from ({dupes})")
        return (
            bad == 0,
            f"{bad} duplicated value(s)",
            _rows(con, f"{dupes} order by occurrences desc limit {_EXAMPLES}") if bad else [],
        )
    if check.accepted_values is not None:
        spec = check.accepted_values
        accepted = ", ".join(_literal(v) for v in spec.values)
        where = f"{_q(spec.field)} is not null and cast({_q(spec.field)} as varchar) not in ({accepted})"
        bad = _count(con, f"select count(*) from {table} where {where}")
        return (
            bad == 0,
            f"{bad} row(s) outside {spec.values}",
            _rows(con, f"select * from {table} where {where} limit {_EXAMPLES}") if bad else [],
        )
    if check.range is not None:
        rng = check.range
        terms = []
        if rng.min is not None:
            terms.append(f"{_q(rng.field)} < {rng.min!r}")
        if rng.max is not None:
            terms.append(f"{_q(rng.field)} > {rng.max!r}")
        where = " or ".join(terms) or "false"
        bad = _count(con, f"select count(*) from {table} where {where}")
        return (
            bad == 0,
            f"{bad} row(s) outside [{rng.min}, {rng.max}]",
            _rows(con, f"select * from {table} where {where} limit {_EXAMPLES}") if bad else [],
        )
    if check.row_count is not None:
        rows = _count(con, f"select count(*) from {table}")
        bounds = check.row_count
        ok = (bounds.min is None or rows >= bounds.min) and (bounds.max is None or rows <= bounds.max)
        return ok, f"{rows} row(s), expected between {bounds.min} and {bounds.max}", []
    if check.freshness is not None:
        column = check.freshness.field or port.event_time or ""
        value = con.sql(f"select max({_q(column)}) as newest from {table}").to_arrow_table()[0][0].as_py()
        limit = now - parse_duration(check.freshness.max_age)
        if value is None:
            return False, f"no {column} values, so no freshness", []
        moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day, tzinfo=UTC)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return (
            moment >= limit,
            f"newest {column} is {moment.isoformat()}, must be after {limit.isoformat()}",
            [],
        )
    if check.metric is not None:
        return _metric(con, table, check)
    assert check.sql is not None
    result = con.sql(_placeholders(check.sql, port, check)).to_arrow_table()
    threshold = check.threshold
    if threshold is None:
        if result.shape != (1, 1) or not pa.types.is_boolean(result.schema[0].type):
            return False, f"the SQL check must return exactly one true/false value, not {result.shape[0]} row(s)", []
        value = result[0][0].as_py()
        return value is True, f"query returned {value}", []
    if result.shape != (1, 1):
        shape = f"{result.shape[0]} row(s) of {result.shape[1]} column(s)"
        return False, f"the SQL check must return exactly one value to compare, not {shape}", []
    value = _plain(result[0][0].as_py())
    operator, expected = threshold
    return compare(value, operator, expected), f"query returned {value}; {describe_threshold(operator, expected)}", []


def _placeholders(sql: str, port: OutputPort, check: QualityCheck) -> str:
    """ODCS writes ``{object}``/``${table}`` for the table and ``{property}``/``${column}`` for the field."""
    for token in ("${object}", "{object}", "${table}", "{table}"):
        sql = sql.replace(token, _q(port.name))
    if check.field:
        for token in ("${property}", "{property}", "${column}", "{column}"):
            sql = sql.replace(token, _q(check.field))
    return sql


def _metric(con: duckdb.DuckDBPyConnection, table: str, check: QualityCheck) -> tuple[bool, str, list[dict[str, Any]]]:
    threshold = check.threshold
    assert threshold is not None  # a metric check always has one
    operator, expected = threshold
    value, total = metric_value(con, table, check)
    passed = compare(value, operator, expected)
    unit = "%" if check.unit == "percent" else " row(s)" if check.metric != "rowCount" else ""
    detail = f"{check.label} is {value:g}{unit} of {total} row(s); {describe_threshold(operator, expected)}"
    if check.metric == "rowCount":
        detail = f"{total} row(s); {describe_threshold(operator, expected)}"
    examples: list[dict[str, Any]] = []
    if not passed and check.metric != "rowCount":
        if check.metric == "duplicateValues":
            cols, present = duplicate_rows(check)
            examples = _rows(
                con,
                f"select {cols}, count(*) as occurrences from {table} where {present} group by {cols} "
                f"having count(*) > 1 order by occurrences desc limit {_EXAMPLES}",
            )
        else:
            examples = _rows(con, f"select * from {table} where {metric_where(check)} limit {_EXAMPLES}")
    return passed, detail, examples
