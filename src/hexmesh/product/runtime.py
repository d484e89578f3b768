"""What a product needs from the utility plane, opened lazily from the workspace settings."""

from __future__ import annotations

import logging
from functools import cached_property
from typing import TYPE_CHECKING

from hexmesh.infra.settings import Settings
from hexmesh.infra.state import StateStore

if TYPE_CHECKING:
    # Opened when first used: a command that only lists versions loads no engine, catalog or storage.
    from hexmesh.infra.compute import Engine, LockedDuckDB
    from hexmesh.infra.storage import ObjectStore
    from hexmesh.infra.tables import IcebergTables
    from hexmesh.product.observers import RunObserver

__all__ = ["Runtime"]

log = logging.getLogger(__name__)


class Runtime:
    """State store, tables, object storage and compute engine of one workspace."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings.ensure()
        self.observers: list[RunObserver] = []
        self._engines: dict[str, Engine] = {}

    def close(self) -> None:
        """Release database connections and engines (the runtime reopens them lazily if used again)."""
        engines, self._engines = self._engines, {}
        for engine in engines.values():
            engine.stop()  # a Spark session holds a JVM and its cluster's cores until stopped
        state = self.__dict__.pop("state", None)
        if state is not None:
            state.close()
        tables = self.__dict__.pop("tables", None)
        if tables is not None:
            tables.close()

    @cached_property
    def state(self) -> StateStore:
        from hexmesh.product.bundles import BundleCache
        from hexmesh.product.control import adopt_home_control

        # Versions name their bundle by digest; this node's copy is fetched from object storage once.
        store = StateStore(self.settings.state_url, bundles=BundleCache(self.settings, lambda: self.storage).path)
        adopt_home_control(store.db, self.settings.home)
        return store

    @cached_property
    def tables(self) -> IcebergTables:
        from hexmesh.infra.tables import IcebergTables

        return IcebergTables(self.settings)

    @cached_property
    def storage(self) -> ObjectStore:
        """Object storage for what a product keeps besides its tables (reached once when first used)."""
        from hexmesh.infra.storage import open_store

        return open_store(self.settings)

    @cached_property
    def engine(self) -> LockedDuckDB:
        """The locked DuckDB of quality checks and metrics, bounded like a run's transformation.

        Checks scan a run's candidate files (product/candidate.py): what does not fit in
        ``compute_memory_limit`` (a uniqueness check over many rows) spills to ``compute_spill``.
        """
        from hexmesh.infra.compute import LockedDuckDB

        settings = self.settings
        return LockedDuckDB(
            memory_limit=settings.compute_memory_limit or None,
            spill=settings.compute_spill,
            threads=settings.compute_threads or None,
        )

    def compute(self, name: str | None) -> Engine:
        """The compute engine called ``name``, or the workspace's default (setting compute_engine)."""
        from hexmesh.infra.compute import open_engine

        chosen = name or self.settings.compute_engine
        if chosen not in self._engines:
            self._engines[chosen] = open_engine(chosen, self.settings)
        return self._engines[chosen]
