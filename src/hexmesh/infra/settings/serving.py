"""Settings of serving: caches of a node's reads, and the SQL port's limits."""

from __future__ import annotations

from dataclasses import dataclass

from hexmesh.infra.settings._field import Base, key

__all__ = ["ABOUT", "ServingSettings"]

#: What the section of the configuration reference says about these settings.
ABOUT = "How a node serves its ports."


@dataclass(frozen=True)
class ServingSettings(Base):
    """How this node serves its ports."""

    files_cache_mb: int = key(
        1024,
        "HEXMESH_FILES_CACHE_MB",
        "Megabytes of pinned Parquet downloads a node keeps in `<home>/cache/files` (least recently used "
        "go first; 0 keeps only files in use).",
        group="serving",
    )
    tables_cache_mb: int = key(
        4096,
        "HEXMESH_TABLES_CACHE_MB",
        "Megabytes of S3 table data files the SQL port copies to `<home>/cache/tables` so DuckDB scans them "
        "with its own Parquet reader (data files never change; least recently used go first; 0 reads S3 "
        "through Arrow on every statement).",
        group="serving",
    )
    sql_max_connections: int = key(
        64,
        "HEXMESH_SQL_MAX_CONNECTIONS",
        "Sessions the SQL port serves at once; the next client gets 53300 (a slot is taken before it logs in).",
        group="serving",
    )
    sql_max_statement_bytes: int = key(
        1024 * 1024,
        "HEXMESH_SQL_MAX_STATEMENT_BYTES",
        "The longest SQL statement the SQL port accepts, in bytes (0: no limit); a longer one gets 54000.",
        group="serving",
    )
    sql_statements_per_principal: int = key(
        8,
        "HEXMESH_SQL_STATEMENTS_PER_PRINCIPAL",
        "Statements one principal runs at once on the SQL port, over all its sessions (0: no limit); more "
        "wait their turn, within the statement timeout.",
        group="serving",
    )
    sql_running_statements: int = key(
        4,
        "HEXMESH_SQL_RUNNING_STATEMENTS",
        "Statements the SQL port's engine runs at once, over all sessions (0: no limit); more wait their turn "
        "in a queue, so that many clients at once share the engine's memory instead of running out of it.",
        group="serving",
    )
    sql_admission_timeout: float = key(
        300.0,
        "HEXMESH_SQL_ADMISSION_TIMEOUT",
        "Seconds a SQL statement waits for its turn to run (sql_running_statements) before it fails with 53000.",
        group="serving",
    )
    sql_result_memory_mb: int = key(
        16,
        "HEXMESH_SQL_RESULT_MEMORY_MB",
        "Megabytes of results one SQL session keeps in memory for a client that reads slower than the engine "
        "produces them (the engine's turn is given back when it is done); past it they go to a temporary file.",
        group="serving",
    )
    sql_result_memory_total_mb: int = key(
        256,
        "HEXMESH_SQL_RESULT_MEMORY_TOTAL_MB",
        "Megabytes of results all SQL sessions together keep in memory for their clients; past it they go to "
        "temporary files.",
        group="serving",
    )
    sql_result_spill_mb: int = key(
        1024,
        "HEXMESH_SQL_RESULT_SPILL_MB",
        "Megabytes of results one SQL session keeps in temporary files (in `<home>/tmp`, deleted as soon as "
        "opened); past it and the memory, the engine waits for the client and keeps its turn.",
        group="serving",
    )
    sql_result_spill_total_mb: int = key(
        8192,
        "HEXMESH_SQL_RESULT_SPILL_TOTAL_MB",
        "Megabytes of results all SQL sessions together keep in temporary files.",
        group="serving",
    )
    sql_client_write_timeout: float = key(
        60.0,
        "HEXMESH_SQL_CLIENT_WRITE_TIMEOUT",
        "Seconds the SQL port waits for a client that reads none of what is sent to it before it closes the "
        "connection (08006), giving back what its results held (0: waits as long as TCP does).",
        group="serving",
    )
    sql_idle_in_transaction_timeout: float = key(
        600.0,
        "HEXMESH_SQL_IDLE_IN_TRANSACTION_TIMEOUT",
        "Seconds a SQL session may stay idle inside a transaction block, where open cursors keep their "
        "results, before it is closed with 25P03 as in PostgreSQL (0: no limit).",
        group="serving",
    )

    @property
    def files_cache_bytes(self) -> int:
        return self.files_cache_mb * 1024 * 1024
