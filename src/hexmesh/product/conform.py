"""Make a transformation's output match the port's declared schema, or say exactly how it differs."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa

from hexmesh.errors import SchemaMismatchError
from hexmesh.infra.compute import StagedOutput
from hexmesh.infra.tables import arrow_schema
from hexmesh.product.candidate import Candidate
from hexmesh.spec import OutputPort

__all__ = ["conform", "conform_staged"]


def conform(port: OutputPort, table: pa.Table) -> pa.Table:
    """Cast ``table`` to the port's schema; raise listing every mismatch."""
    target = arrow_schema(port)
    problems = _names(target, table.column_names)
    columns, nulls = _columns(target, table, problems)
    problems += _nulls(target, nulls)
    _refuse(port, problems)
    return pa.Table.from_arrays(columns, schema=target)


def conform_staged(port: OutputPort, staged: StagedOutput) -> Candidate:
    """An engine's staged output as the port's candidate, checked batch by batch and never rewritten.

    Every batch is cast to the declared schema (nothing is kept) and every required column's
    nulls are counted over all rows; a value that does not convert fails at the batch that holds
    it. The candidate is the staged files read as the declared schema: each later step casts
    as it reads, with the same casts, now known to succeed. Files whose columns already have
    the declared types (text as ``string`` or ``large_string``) only have their required
    columns read.
    """
    target = arrow_schema(port)
    problems = _names(target, staged.schema.names)
    _refuse(port, problems)
    same = [_widened(staged.schema.field(f.name).type) for f in target] == [f.type for f in target]
    required = [f.name for f in target if not f.nullable]
    if same and not required:
        return Candidate(port.name, staged.files, target, staged.rows)
    nulls: Counter[str] = Counter()
    read = Candidate(port.name, staged.files, staged.schema, staged.rows)
    for batch in read.batches(required if same else None):
        _, counted = _columns(target, pa.Table.from_batches([batch]), problems)
        _refuse(port, problems)
        nulls.update(counted)
    _refuse(port, _nulls(target, nulls))
    return Candidate(port.name, staged.files, target, staged.rows)


def _names(target: pa.Schema, names: list[str]) -> list[str]:
    problems = []
    missing = [f.name for f in target if f.name not in names]
    extra = [n for n in names if target.get_field_index(n) < 0]
    if missing:
        problems.append(f"missing field(s) {', '.join(missing)}")
    if extra:
        problems.append(f"undeclared field(s) {', '.join(extra)} (declare them or drop them from the output)")
    return problems


def _columns(target: pa.Schema, table: pa.Table, problems: list[str]) -> tuple[list[pa.ChunkedArray], Counter[str]]:
    """The table's columns cast to ``target`` and their null counts; what does not convert goes to ``problems``."""
    columns = []
    nulls: Counter[str] = Counter()
    for field in target:
        if field.name not in table.column_names:
            continue
        column = table.column(field.name)
        try:
            column = _cast(column, field.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            problems.append(
                f"field {field.name!r} is {column.type}, which does not convert to {field.type}: "
                f"{str(exc).splitlines()[0]}"
            )
            continue
        nulls[field.name] = column.null_count
        columns.append(column)
    return columns, nulls


def _nulls(target: pa.Schema, nulls: Counter[str]) -> list[str]:
    required = [f.name for f in target if not f.nullable]
    return [f"required field {name!r} has {nulls[name]} null value(s)" for name in required if nulls[name]]


def _refuse(port: OutputPort, problems: list[str]) -> None:
    if problems:
        raise SchemaMismatchError(
            f"output of port {port.name!r} does not match its declared schema: " + "; ".join(problems)
        )


def _widened(kind: pa.DataType) -> pa.DataType:
    """The type a column scans as under the declared schema without a cast that could fail."""
    return {pa.string(): pa.large_string(), pa.binary(): pa.large_binary()}.get(kind, kind)


def _cast(column: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    # Naive timestamps cast to the UTC type keep their values: they are taken as UTC.
    return column if column.type == target else column.cast(target, safe=True)
