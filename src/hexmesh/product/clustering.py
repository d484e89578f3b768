"""Data files clustered by the fields a port's row filters test (docs/adr/0044).

An access rule with a row filter (``rows: {country: principal.country}``) lets its principals
see some values of those fields only. A port's rows are written to each data file sorted by
them, so every Parquet row group holds a narrow range of values: its min/max statistics let a
reader's scan (the SQL port's DuckDB, any Iceberg engine) skip the row groups a principal may
not see, and not evaluate a filter that the statistics show every row of a group passes. This
is how lakehouses cluster a table (Iceberg's sort order, Delta's Z-order); here the policies
choose the columns, so a product gets it without a setting of its own.
"""

from __future__ import annotations

from hexmesh.governance.encryption import restricted_fields
from hexmesh.spec import DataProductSpec

__all__ = ["cluster_keys"]


def cluster_keys(spec: DataProductSpec, port: str) -> tuple[str, ...]:
    """The fields the row filters of ``port``'s access rules test, in the order the rules name them.

    Restricted fields are left out: they are stored sealed per data subject, so their stored
    order and statistics say nothing about the values a filter tests.
    """
    output = spec.output(port)
    if output is None:
        return ()
    declared = {f.name for f in output.properties}
    sealed = set(restricted_fields(output))
    keys: list[str] = []
    for rule in spec.policies.access:
        if rule.rows is None or (rule.ports and port not in rule.ports):
            continue
        keys.extend(f for f in rule.rows if f in declared and f not in sealed and f not in keys)
    return tuple(keys)
