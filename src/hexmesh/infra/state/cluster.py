"""The cluster's record in the state store: the mesh id, and fingerprints of what all nodes share.

Fingerprints let a node prove it holds the cluster's master key, mesh secret and governance files
without the store ever holding them: HMAC-SHA256 of a fixed message under each secret, and a
SHA-256 per governance file.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from hexmesh.infra.state.records import now_us
from hexmesh.infra.state.schema import cluster

__all__ = ["ClusterRecord", "cluster_record", "record_fingerprints"]


@dataclass(frozen=True)
class ClusterRecord:
    mesh_id: str
    master_key_check: str | None = None
    secret_check: str | None = None
    governance: dict[str, str] | None = None
    set_by: str | None = None

    @property
    def founded(self) -> bool:
        """Whether a node has recorded the fingerprints yet."""
        return self.master_key_check is not None


def cluster_record(db: Engine) -> ClusterRecord:
    """The cluster's record, made (with a new mesh id) by the first node that asks."""
    for _ in range(3):
        with db.connect() as conn:
            row = conn.execute(select(cluster).where(cluster.c.singleton == 1)).first()
        if row is not None:
            return ClusterRecord(
                row.mesh_id, row.master_key_check, row.secret_check, dict(row.governance or {}) or None, row.set_by
            )
        try:
            with db.begin() as conn:
                conn.execute(insert(cluster).values(singleton=1, mesh_id=uuid.uuid4().hex[:12], updated_us=now_us()))
        except IntegrityError:  # another node made it a moment earlier: read theirs
            continue
    raise AssertionError("unreachable")


def record_fingerprints(
    db: Engine, master_key_check: str, secret_check: str, governance: dict[str, str], by: str, *, found: bool
) -> bool:
    """Record the fingerprints; with ``found``, only if no node did yet (False when one did first)."""
    where = [cluster.c.singleton == 1] + ([cluster.c.master_key_check.is_(None)] if found else [])
    with db.begin() as conn:
        return (
            conn.execute(
                update(cluster)
                .where(*where)
                .values(
                    master_key_check=master_key_check,
                    secret_check=secret_check,
                    governance=governance,
                    set_by=by,
                    updated_us=now_us(),
                )
            ).rowcount
            == 1
        )
