"""The state store: one SQLAlchemy engine, SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

import dataclasses
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, insert, select, update

from hexmesh.infra.state import schema as t
from hexmesh.infra.state.leases import Leases, LockHolder
from hexmesh.infra.state.lifecycle import LifecycleRecords
from hexmesh.infra.state.migrations import migrate
from hexmesh.infra.state.records import (
    PortRecord,
    Publication,
    RunRecord,
    VersionRecord,
    now_us,
)

__all__ = ["LockHolder", "StateStore"]


def _engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            # WAL lets readers (the servers) work while a run writes; foreign keys are off by default.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


#: Row count and highest id of versions and of ports, built once: it runs on every SQL connect.
_DEPLOYMENTS_GENERATION = select(
    *(
        select(aggregate).select_from(table).scalar_subquery()
        for table in (t.versions, t.ports)
        for aggregate in (func.count(), func.coalesce(func.max(table.c.id), 0))
    )
)


class StateStore(LifecycleRecords, Leases):
    """Products, versions, ports, runs, publications and locks of one workspace (and lifecycle records)."""

    def __init__(self, url: str, *, bundles: Callable[[VersionRecord], str] | None = None) -> None:
        """``bundles`` maps a version's recorded bundle (a digest) to its folder on this node."""
        self.url = url
        self.db = _engine(url)
        self._bundles = bundles
        migrate(self.db)

    def close(self) -> None:
        self.db.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.db.begin() as conn:
            yield conn

    # -- products and versions -------------------------------------------------------------

    def add_version(self, conn: Connection, record: VersionRecord) -> None:
        product_id = self.product_id(conn, record.product, create=True)
        major, minor, patch = (int(p.split("-")[0]) for p in record.version.split(".")[:3])
        conn.execute(
            insert(t.versions).values(
                product_id=product_id,
                version=record.version,
                major=major,
                minor=minor,
                patch=patch,
                spec_text=record.spec_text,
                spec_hash=record.spec_hash,
                bundle=record.bundle,
                origin=record.origin,
                status=record.status,
                deployed_us=record.deployed_us,
            )
        )

    def versions(self, key: str | None = None) -> list[VersionRecord]:
        """Deployed versions, newest first (of one product, or of all)."""
        query = (
            select(t.products.c.domain, t.products.c.name, t.versions)
            .join(t.versions, t.versions.c.product_id == t.products.c.id)
            .order_by(
                t.products.c.domain,
                t.products.c.name,
                t.versions.c.major.desc(),
                t.versions.c.minor.desc(),
                t.versions.c.patch.desc(),
                t.versions.c.id.desc(),
            )
        )
        if key is not None:
            domain, name = key.split("/", 1)
            query = query.where(t.products.c.domain == domain, t.products.c.name == name)
        with self.db.connect() as conn:
            found = [
                VersionRecord(
                    product=f"{row.domain}/{row.name}",
                    version=row.version,
                    major=row.major,
                    spec_text=row.spec_text,
                    spec_hash=row.spec_hash,
                    bundle=row.bundle,
                    origin=row.origin,
                    status=row.status,
                    deployed_us=row.deployed_us,
                )
                for row in conn.execute(query)
            ]
        if self._bundles is None:
            return found
        return [dataclasses.replace(record, bundle=self._bundles(record)) for record in found]

    def deployments_generation(self) -> tuple[int, ...]:
        """Changes whenever a version or a port is recorded: one cheap query for caches of what is deployed.

        Both tables are only ever inserted into (never updated nor deleted), so their row counts
        and highest ids move with every deployment. Majors' states are updated in place: a cache
        compares :meth:`retired` itself.
        """
        with self.db.connect() as conn:
            row = conn.execute(_DEPLOYMENTS_GENERATION).one()
        return tuple(int(value) for value in row)

    def bundle_recorded(self, bundle: str) -> bool:
        """Whether any deployed version records ``bundle`` (a ``sha256:`` digest) as its own."""
        with self.db.connect() as conn:
            query = select(func.count()).select_from(t.versions).where(t.versions.c.bundle == bundle)
            return bool(conn.execute(query).scalar())

    # -- ports and publications ------------------------------------------------------------

    def add_port(
        self, conn: Connection, key: str, major: int, name: str, table_id: Sequence[str], baseline: int
    ) -> None:
        conn.execute(
            insert(t.ports).values(
                product_id=self.product_id(conn, key, create=True),
                major=major,
                name=name,
                table_id=".".join(table_id),
                baseline_snapshot=baseline,
                created_us=now_us(),
            )
        )

    def port(self, key: str, major: int, name: str) -> PortRecord | None:
        with self.db.connect() as conn:
            product_id = self.product_id(conn, key)
            row = conn.execute(
                select(t.ports).where(
                    t.ports.c.product_id == product_id, t.ports.c.major == major, t.ports.c.name == name
                )
            ).first()
        if row is None:
            return None
        return PortRecord(row.id, key, row.major, row.name, tuple(row.table_id.split(".")), row.baseline_snapshot)

    def publications(self, port_id: int, *, as_of_us: int | None = None) -> list[Publication]:
        """Publications of a port, oldest first, optionally only those at or before ``as_of_us``."""
        query = (
            select(t.publications, t.ports.c.name)
            .join(t.ports, t.ports.c.id == t.publications.c.port_id)
            .where(t.publications.c.port_id == port_id)
            .order_by(t.publications.c.published_us, t.publications.c.id)
        )
        if as_of_us is not None:
            query = query.where(t.publications.c.published_us <= as_of_us)
        with self.db.connect() as conn:
            return [Publication(r.run_id, r.name, r.snapshot_id, r.rows, r.published_us) for r in conn.execute(query)]

    def latest_publication(self, port_id: int, *, as_of_us: int | None = None) -> Publication | None:
        found = self.publications(port_id, as_of_us=as_of_us)
        return found[-1] if found else None

    # -- runs ------------------------------------------------------------------------------

    def start_run(
        self,
        run_id: str,
        key: str,
        version: str,
        major: int,
        trigger: str,
        details: dict[str, Any] | None = None,
        *,
        node: str | None = None,
    ) -> None:
        """Record a run as running on ``node`` (default: this host); ``details`` are kept when it finishes."""
        with self.transaction() as conn:
            conn.execute(
                insert(t.runs).values(
                    id=run_id,
                    product_id=self.product_id(conn, key),
                    version=version,
                    major=major,
                    status="running",
                    trigger=trigger,
                    started_us=now_us(),
                    host=node or socket.gethostname(),
                    pid=os.getpid(),
                    details=details or {},
                )
            )

    def run_progress(self, run_id: str, stage: str, rows: dict[str, int] | None = None) -> None:
        """Record where a running run is (its stage, and rows so far per port); finish_run replaces it."""
        with self.transaction() as conn:
            found = conn.execute(
                select(t.runs.c.details).where(t.runs.c.id == run_id, t.runs.c.status == "running")
            ).first()
            if found is None:
                return
            details = {**dict(found.details or {}), "stage": stage}
            if rows is not None:
                details["rows_so_far"] = dict(rows)
            conn.execute(update(t.runs).where(t.runs.c.id == run_id).values(details=details))

    def finish_run(
        self,
        run_id: str,
        status: str,
        *,
        error: str | None = None,
        details: dict[str, Any] | None = None,
        published: Sequence[tuple[int, int, int]] = (),
        lease: tuple[str, int] | None = None,
    ) -> int:
        """Close a run; with ``published`` (port id, snapshot, rows), publish atomically.

        With ``lease`` (its name and length), the run's id must still hold that lease, or nothing
        is recorded (:class:`~hexmesh.errors.LeaseLostError`): a node that lost it never publishes.
        """
        finished = now_us()
        with self.transaction() as conn:
            if lease is not None:
                self.fence(conn, lease[0], run_id, lease[1])
            for port_id, snapshot_id, rows in published:
                conn.execute(
                    insert(t.publications).values(
                        run_id=run_id,
                        port_id=port_id,
                        snapshot_id=snapshot_id,
                        rows=rows,
                        published_us=finished,
                    )
                )
            conn.execute(
                update(t.runs)
                .where(t.runs.c.id == run_id)
                .values(status=status, finished_us=finished, error=error, details=details or {})
            )
        return finished

    def runs(
        self, key: str | None = None, *, limit: int = 20, status: str | None = None, run_id: str | None = None
    ) -> list[RunRecord]:
        """Runs, newest first."""
        query = (
            select(t.runs, t.products.c.domain, t.products.c.name)
            .join(t.products, t.products.c.id == t.runs.c.product_id)
            .order_by(t.runs.c.started_us.desc())
            .limit(limit)
        )
        if key is not None:
            domain, name = key.split("/", 1)
            query = query.where(t.products.c.domain == domain, t.products.c.name == name)
        if status is not None:
            query = query.where(t.runs.c.status == status)
        if run_id is not None:
            query = query.where(t.runs.c.id == run_id)
        with self.db.connect() as conn:
            return [
                RunRecord(
                    id=r.id,
                    product=f"{r.domain}/{r.name}",
                    version=r.version,
                    major=r.major,
                    status=r.status,
                    trigger=r.trigger,
                    started_us=r.started_us,
                    finished_us=r.finished_us,
                    host=r.host,
                    pid=r.pid,
                    error=r.error,
                    details=r.details or {},
                )
                for r in conn.execute(query)
            ]

    def run(self, run_id: str) -> RunRecord | None:
        found = self.runs(run_id=run_id, limit=1)
        return found[0] if found else None

    def rewrite_run(self, run_id: str, details: dict[str, Any], error: str | None) -> None:
        """Replace a finished run's details and error text (``forget`` removes a subject's values from them)."""
        with self.db.begin() as conn:
            conn.execute(update(t.runs).where(t.runs.c.id == run_id).values(details=details, error=error))

    def abandon_runs(self, key: str | None, reason: str) -> int:
        """Mark runs of ``key`` (None: of every product) left 'running' without a live lease as failed.

        Returns how many.

        A run holds the lease named after its product major with its own id as owner: a run whose
        node died, on this host or another, has none left once the lease expired.
        """
        running = self.runs(key, status="running", limit=1000)
        with self.db.connect() as conn:
            live = self.live_lock_owners(conn, [run.id for run in running])
        for run in running:
            if run.id not in live:
                self.finish_run(run.id, "failed", error=reason, details=run.details)
        return len([run for run in running if run.id not in live])

    def counts(self) -> dict[str, int]:
        with self.db.connect() as conn:
            return {
                name: int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)
                for name, table in (("products", t.products), ("runs", t.runs))
            }
