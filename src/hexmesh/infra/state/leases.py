"""Leases: a named piece of work (a run, a scheduling decision, an emitter) held by one owner.

A lease is a row of the ``locks`` table with an expiry. Its holder renews it by heartbeat
(:class:`Heartbeat`, every third of the lease); a holder that stops renewing — killed, frozen,
cut off from the state store — loses it when it expires, seconds later, and any node may take
it over. On one host a holder whose process is gone is stale at once (no need to wait).

Work that ends in a write others see (a run's publication) is fenced: the write commits only
in a transaction that still finds the lease held by its owner (:meth:`Leases.fence`), so a
holder that lost its lease mid-way can never publish over the node that took over.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psutil
from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from hexmesh.errors import LeaseLostError
from hexmesh.infra.state import schema as t
from hexmesh.infra.state.records import now_us

__all__ = ["Heartbeat", "Leases", "LockHolder", "stale"]

log = logging.getLogger(__name__)
LockHolder = dict[str, Any]


class Leases:
    """Take, renew, fence and release leases; subclasses hold the database."""

    db: Engine

    def acquire_lock(self, name: str, owner: str, ttl_us: int) -> LockHolder | None:
        """Take lease ``name`` for ``ttl_us``; return None on success, else the live holder.

        A stale holder (expired lease, or a dead process on this host) is taken over.
        """
        for _ in range(3):
            now = now_us()
            try:
                with self.db.begin() as conn:
                    conn.execute(
                        insert(t.locks).values(
                            name=name,
                            owner=owner,
                            host=socket.gethostname(),
                            pid=os.getpid(),
                            acquired_us=now,
                            expires_us=now + ttl_us,
                        )
                    )
                return None
            except IntegrityError:
                pass
            with self.db.begin() as conn:
                holder = conn.execute(select(t.locks).where(t.locks.c.name == name)).first()
                if holder is None:
                    continue
                info = dict(holder._mapping)
                if not stale(info, now):
                    return info
                # Only the stale row we looked at: a node that took it over meanwhile keeps it.
                conn.execute(
                    t.locks.delete().where(
                        t.locks.c.name == name,
                        t.locks.c.owner == info["owner"],
                        t.locks.c.expires_us == info["expires_us"],
                    )
                )
        return {"name": name, "owner": "?", "host": "?", "pid": 0, "acquired_us": 0}

    def renew_lock(self, name: str, owner: str, ttl_us: int) -> bool:
        """Extend ``owner``'s lease on ``name``; False when it no longer holds it (it expired or was taken)."""
        with self.db.begin() as conn:
            return self.fence(conn, name, owner, ttl_us, raise_lost=False)

    def fence(self, conn: Connection, name: str, owner: str, ttl_us: int, *, raise_lost: bool = True) -> bool:
        """Within ``conn``'s transaction, renew ``owner``'s live lease on ``name`` or fail.

        Raises:
            LeaseLostError: (with ``raise_lost``) the lease expired or another node holds it now.
        """
        now = now_us()
        renewed = conn.execute(
            update(t.locks)
            .where(t.locks.c.name == name, t.locks.c.owner == owner, t.locks.c.expires_us >= now)
            .values(expires_us=now + ttl_us)
        ).rowcount
        if renewed == 1:
            return True
        if raise_lost:
            raise LeaseLostError(
                f"the lease {name!r} of {owner} ran out before its work committed (the node stopped renewing "
                "it: frozen, overloaded or cut off from the state store), and another node may have taken "
                "it over; nothing was committed. Raise lease_seconds if this node is often this slow"
            )
        return False

    def release_lock(self, name: str, owner: str) -> None:
        with self.db.begin() as conn:
            conn.execute(t.locks.delete().where(t.locks.c.name == name, t.locks.c.owner == owner))

    def live_lock_owners(self, conn: Connection, owners: list[str]) -> set[str]:
        """Which of ``owners`` hold a lease that is not stale."""
        if not owners:
            return set()
        now = now_us()
        rows = conn.execute(select(t.locks).where(t.locks.c.owner.in_(owners))).all()
        return {row.owner for row in rows if not stale(dict(row._mapping), now)}

    @contextmanager
    def leased(self, name: str, owner: str, ttl_us: int) -> Iterator[Heartbeat | None]:
        """Hold lease ``name`` for the block, renewed by heartbeat; yields None when another holds it."""
        if self.acquire_lock(name, owner, ttl_us) is not None:
            yield None
            return
        beat = Heartbeat(self, name, owner, ttl_us)
        try:
            yield beat
        finally:
            beat.stop()
            self.release_lock(name, owner)


class Heartbeat:
    """Renews a held lease every third of its length until stopped; ``lost`` once renewal failed."""

    def __init__(self, leases: Leases, name: str, owner: str, ttl_us: int) -> None:
        self.leases, self.name, self.owner, self.ttl_us = leases, name, owner, ttl_us
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease {name}", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        interval = self.ttl_us / 3 / 1_000_000
        while not self._stop.wait(interval):
            try:
                if not self.leases.renew_lock(self.name, self.owner, self.ttl_us):
                    self.lost = True
                    log.error("lost the lease %s (%s): another node may take its work over", self.name, self.owner)
                    return
            except Exception:  # the state store is unreachable for now: the next beat tries again
                log.warning("could not renew the lease %s", self.name, exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def stale(holder: dict[str, Any], now: int) -> bool:
    """Whether a lease may be taken over: it expired, or its process on this host is gone."""
    if holder["expires_us"] < now:
        return True
    if holder["host"] != socket.gethostname():
        return False
    try:
        process = psutil.Process(holder["pid"])
        if process.status() == psutil.STATUS_ZOMBIE:
            return True  # killed, not yet reaped by its parent: it renews nothing any more
        # A recycled pid belongs to a process that started after the lock was taken.
        return bool(process.create_time() * 1_000_000 > holder["acquired_us"] + 1_000_000)
    except psutil.NoSuchProcess:
        return True
