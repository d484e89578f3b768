"""Masked and synthetic versions of a snapshot, computed once per (snapshot, plan fingerprint).

Snapshots never change, so what a plan makes of one never changes either: principals whose plans
have equal fingerprints share the same bytes. Both caches are small LRUs held by the sidecar.
"""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Hashable

import pyarrow as pa
import pyarrow.compute as pc

from hexmesh.governance import PolicyError, ReadPlan, apply_plan, fit, plan_schema, synthetic_rows
from hexmesh.governance.synthetic import RARE

__all__ = ["VariantCache"]

Loader = Callable[[], pa.Table]


class VariantCache:
    """Masked rows and synthetic rows of snapshots, keyed by the caller's snapshot key and the plan."""

    def __init__(self, secret: bytes, size: int = 32) -> None:
        self.secret = secret
        self._size = size
        self._tables: OrderedDict[Hashable, pa.Table] = OrderedDict()
        self._lock = threading.Lock()

    def _cached(self, key: Hashable, make: Callable[[], pa.Table]) -> pa.Table:
        with self._lock:
            found = self._tables.get(key)
            if found is not None:
                self._tables.move_to_end(key)
                return found
        made = make()
        with self._lock:
            self._tables[key] = made
            while len(self._tables) > self._size:
                self._tables.popitem(last=False)
        return made

    def masked(self, snapshot: Hashable, load: Loader, plan: ReadPlan) -> pa.Table:
        """The snapshot's rows as ``plan`` shows them (``apply_plan``)."""
        return self._cached(("rows", snapshot, plan.fingerprint()), lambda: apply_plan(load(), plan, self.secret))

    def synthetic(self, snapshot: Hashable, load: Loader, plan: ReadPlan) -> pa.Table:
        """Synthetic rows fitted on the rows the principal may see, as many as there are, seeded by the snapshot.

        The rows are those the principal could read: its row filter, then the minimum group sizes
        (a suppressed group must not come back as synthetic rows). The plan's private fields and
        rare text values are made up (``governance.synthetic``). A snapshot with fewer than two
        such rows has no model; its synthetic variant is empty.
        """

        seed = zlib.crc32(repr(snapshot).encode())

        def make() -> pa.Table:
            table = load()
            scope = None
            if plan.row_filter is not None:
                table, scope = plan.row_filter.apply(table), plan.row_filter.sql()
            for name, minimum in plan.min_group.items():
                table = table.filter(pc.greater_equal(table.column(name), minimum))
            rare = max([RARE, *plan.min_group.values()])
            try:
                model = fit(table, scope=scope, seed=seed, private=frozenset(plan.private), rare=rare)
            except PolicyError:
                return plan_schema(table.schema, plan).empty_table()
            return synthetic_rows(model, plan, table.num_rows, self.secret, seed=seed)

        return self._cached(("synthetic", snapshot, plan.fingerprint()), make)
