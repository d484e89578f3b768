"""Temporal, immutable tables: the storage of output ports.

Apache Iceberg through pyiceberg: catalogs built by ``load_catalog`` from the settings (``sql`` on
SQLite by default or PostgreSQL, ``rest`` for any Iceberg REST catalog), a local or S3 warehouse,
and every reader of raw files reaching them through the table's own FileIO (``IcebergTables.files``).
"""

from __future__ import annotations

from hexmesh.infra.tables.catalogs import CATALOG_TYPES, catalog_properties, catalog_type
from hexmesh.infra.tables.fields import arrow_schema, arrow_type, iceberg_schema
from hexmesh.infra.tables.iceberg import IcebergTables, Snapshot, SnapshotFiles, StagedWrite, TableId

__all__ = [
    "CATALOG_TYPES",
    "IcebergTables",
    "Snapshot",
    "SnapshotFiles",
    "StagedWrite",
    "TableId",
    "arrow_schema",
    "arrow_type",
    "catalog_properties",
    "catalog_type",
    "iceberg_schema",
]
