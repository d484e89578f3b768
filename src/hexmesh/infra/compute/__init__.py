"""Engines that run transformations: a locked-down DuckDB by default."""

from hexmesh.infra.compute.duckdb import LockedDuckDB, SqlError

__all__ = ["LockedDuckDB", "SqlError"]
