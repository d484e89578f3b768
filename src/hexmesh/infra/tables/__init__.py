"""Temporal, immutable tables: the storage of output ports.

The default backend is Apache Iceberg through pyiceberg, with a SQL catalog (SQLite by default,
PostgreSQL by URL) and a local or object-store warehouse.
"""

from __future__ import annotations

from hexmesh.infra.tables.fields import arrow_schema, arrow_type, iceberg_schema
from hexmesh.infra.tables.iceberg import IcebergTables, Snapshot, StagedWrite, TableId

__all__ = [
    "IcebergTables",
    "Snapshot",
    "StagedWrite",
    "TableId",
    "arrow_schema",
    "arrow_type",
    "iceberg_schema",
]
