"""Starting the SQL port: a pgwire server whose sessions read a workspace's output ports."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hexmesh.infra.settings import Settings
from hexmesh.pgwire import Authenticator, Limits, PgServer, SessionContext
from hexmesh.product.policy.opened import OpenedTables
from hexmesh.product.runtime import Runtime
from hexmesh.product.sql.admission import Admission
from hexmesh.product.sql.budget import Budget
from hexmesh.product.sql.catalog import TableCatalog
from hexmesh.product.sql.databases import Databases
from hexmesh.product.sql.policy import AllowAll, QueryPolicy
from hexmesh.product.sql.residual import Residuals
from hexmesh.product.sql.running import RunningStatements
from hexmesh.product.sql.session import SqlSession
from hexmesh.product.sql.snapshots import SnapshotSource
from hexmesh.product.sql.statements import StatementCache

__all__ = ["SqlPort", "SqlPortConfig", "sql_service", "start_sql_port"]

_MiB = 1024 * 1024


@dataclass(frozen=True)
class SqlPortConfig:
    """Limits of the SQL port; None (or 0 where noted) disables a limit."""

    max_connections: int = 64
    max_startup: int = 64  # connections still logging in; a new one closes the oldest silent one
    startup_timeout: float = 10.0
    statement_timeout: float | None = 300.0
    idle_session_timeout: float | None = 3600.0
    # Idle inside a transaction block, where open portals keep their results (PostgreSQL: 25P03).
    idle_in_transaction_timeout: float | None = 600.0
    memory_limit: str | None = "1GB"  # DuckDB memory_limit of the engine the sessions share
    threads: int | None = 2  # DuckDB threads of the engine the sessions share
    max_result_rows: int | None = 10_000_000
    batch_rows: int = 65_536
    # Memory for sealed snapshots kept opened between statements (policy/opened.py); 0 opens per statement.
    opened_cache_bytes: int = 512 * 1024 * 1024
    server_version: str = "15.0 (hexmesh)"
    # DuckDB scans local Parquet files itself (sql/snapshots.py); False reads them through pyarrow.
    native_scans: bool = True
    max_statement_bytes: int = 1024 * 1024  # 0: no limit
    statements_per_principal: int = 8  # running at once over all of a principal's sessions; 0: no limit
    # Admission (sql/admission.py, ADR 0039): statements the engine runs at once over all sessions (0: no
    # limit), how many more may wait for a turn, and for how long (None: within the statement timeout).
    running_statements: int = 4
    waiting_statements: int = 1024
    admission_timeout: float | None = 300.0
    # Results produced but not read yet (sql/spool.py, ADR 0045): bytes kept in memory per session and in
    # all, then bytes written to temporary files in ``spill_dir`` (None: the system's); past both, the
    # engine waits for the client. A client that reads nothing for ``client_write_timeout`` s is disconnected.
    result_memory: int = 16 * 1024 * 1024
    result_memory_total: int = 256 * 1024 * 1024
    result_spill: int = 1024 * 1024 * 1024
    result_spill_total: int = 8 * 1024 * 1024 * 1024
    spill_dir: str | None = None
    client_write_timeout: float | None = 60.0
    # Time zones other than UTC that open sessions compute in at once (each is an engine: sql/databases.py).
    max_zones: int = 4
    # Parsed statements kept for reuse (sql/statements.py), in all and per session.
    statement_cache_bytes: int = 64 * 1024 * 1024
    statement_cache_session_bytes: int = 8 * 1024 * 1024

    @classmethod
    def from_settings(cls, settings: Settings) -> SqlPortConfig:
        """The limits a node's settings give (``sql_*``), defaults for the rest."""
        return cls(
            max_connections=settings.sql_max_connections,
            max_statement_bytes=settings.sql_max_statement_bytes,
            statements_per_principal=settings.sql_statements_per_principal,
            running_statements=settings.sql_running_statements,
            admission_timeout=settings.sql_admission_timeout or None,
            result_memory=settings.sql_result_memory_mb * _MiB,
            result_memory_total=settings.sql_result_memory_total_mb * _MiB,
            result_spill=settings.sql_result_spill_mb * _MiB,
            result_spill_total=settings.sql_result_spill_total_mb * _MiB,
            spill_dir=str(settings.home / "tmp"),
            client_write_timeout=settings.sql_client_write_timeout or None,
            idle_in_transaction_timeout=settings.sql_idle_in_transaction_timeout or None,
        )


class SqlPort:
    """The backend factory pgwire calls once per connection."""

    def __init__(
        self, runtime: Runtime, config: SqlPortConfig | None = None, policy: QueryPolicy | None = None
    ) -> None:
        self.runtime = runtime
        self.config = config or SqlPortConfig.from_settings(runtime.settings)
        self.policy: QueryPolicy = policy or AllowAll()
        self.catalog = TableCatalog(runtime)
        self.snapshots = SnapshotSource(runtime, native=self.config.native_scans)
        self.opened = OpenedTables(runtime, self.config.opened_cache_bytes)
        self.residuals = Residuals()
        self.databases = Databases(
            memory_limit=self.config.memory_limit,
            threads=self.config.threads,
            readable=self.snapshots.root,
            max_zones=self.config.max_zones,
        )
        self.statements = StatementCache(self.config.statement_cache_bytes, self.config.statement_cache_session_bytes)
        self.running = RunningStatements(self.config.statements_per_principal)
        self.admission = Admission(
            self.config.running_statements, self.config.waiting_statements, self.config.admission_timeout
        )
        if self.config.spill_dir is not None:
            Path(self.config.spill_dir).mkdir(parents=True, exist_ok=True)
        self.result_memory = Budget(self.config.result_memory_total)
        self.result_spill = Budget(self.config.result_spill_total)

    def __call__(self, ctx: SessionContext) -> SqlSession:
        return SqlSession(self, ctx)

    def server(
        self,
        host: str,
        port: int,
        authenticator: Authenticator | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> PgServer:
        """A PgServer (not started) serving this port; with ``ssl_context`` clients may use TLS."""
        limits = Limits(
            max_connections=self.config.max_connections,
            idle_session_timeout=self.config.idle_session_timeout,
            idle_in_transaction_timeout=self.config.idle_in_transaction_timeout,
            client_write_timeout=self.config.client_write_timeout,
            statement_timeout=self.config.statement_timeout,
            # Encode and send what DuckDB hands over in one go: fewer thread hops per row.
            batch_rows=self.config.batch_rows,
            max_startup=self.config.max_startup,
            startup_timeout=self.config.startup_timeout,
            # A Query message may hold several statements; each is checked against max_statement_bytes.
            max_message_size=max(16 * 1024 * 1024, 4 * self.config.max_statement_bytes),
        )
        return PgServer(
            self, host, port, authenticator, ssl_context, limits=limits, server_version=self.config.server_version
        )


async def start_sql_port(
    runtime: Runtime | object,
    host: str = "127.0.0.1",
    port: int = 5433,
    authenticator: Authenticator | None = None,
    *,
    config: SqlPortConfig | None = None,
    policy: QueryPolicy | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> PgServer:
    """Start serving every deployed product's output ports over the PostgreSQL protocol.

    ``runtime`` is a product Runtime or anything holding one as ``.runtime`` (a Workspace).
    The returned server is listening (``.port`` is the bound port); ``await server.close()``.
    """
    server = SqlPort(_runtime(runtime), config, policy).server(host, port, authenticator, ssl_context)
    await server.start()
    return server


def sql_service(
    runtime: Runtime | object,
    host: str = "127.0.0.1",
    port: int = 5433,
    authenticator: Authenticator | None = None,
    *,
    config: SqlPortConfig | None = None,
    policy: QueryPolicy | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> Callable[[asyncio.Event], Coroutine[Any, Any, None]]:
    """The SQL port as a service of ``hexmesh.server.run_services``: serves until ``stop`` is set."""

    async def serve(stop: asyncio.Event) -> None:
        server = await start_sql_port(
            runtime, host, port, authenticator, config=config, policy=policy, ssl_context=ssl_context
        )
        try:
            await stop.wait()
        finally:
            await server.close()

    return serve


def _runtime(runtime: Runtime | object) -> Runtime:
    resolved = runtime if isinstance(runtime, Runtime) else getattr(runtime, "runtime", None)
    if not isinstance(resolved, Runtime):
        raise TypeError(f"the SQL port needs a Runtime or a Workspace, got {type(runtime).__name__}")
    return resolved
