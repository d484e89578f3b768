"""Make a transformation's output match the port's declared schema, or say exactly how it differs."""

from __future__ import annotations

import pyarrow as pa

from hexmesh.errors import SchemaMismatchError
from hexmesh.infra.tables import arrow_schema
from hexmesh.spec import OutputPort

__all__ = ["conform"]


def conform(port: OutputPort, table: pa.Table) -> pa.Table:
    """Cast ``table`` to the port's schema; raise listing every mismatch."""
    target = arrow_schema(port)
    problems: list[str] = []
    names = table.column_names
    missing = [f.name for f in target if f.name not in names]
    extra = [n for n in names if target.get_field_index(n) < 0]
    if missing:
        problems.append(f"missing field(s) {', '.join(missing)}")
    if extra:
        problems.append(f"undeclared field(s) {', '.join(extra)} (declare them or drop them from the output)")
    columns = []
    for field in target:
        if field.name not in names:
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
        if not field.nullable and column.null_count:
            problems.append(f"required field {field.name!r} has {column.null_count} null value(s)")
        columns.append(column)
    if problems:
        raise SchemaMismatchError(
            f"output of port {port.name!r} does not match its declared schema: " + "; ".join(problems)
        )
    return pa.Table.from_arrays(columns, schema=target)


def _cast(column: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    # Naive timestamps cast to the UTC type keep their values: they are taken as UTC.
    return column if column.type == target else column.cast(target, safe=True)
