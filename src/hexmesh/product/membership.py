"""A node joins its mesh's cluster: it must hold the master key, mesh secret and governance rules.

Nodes on one PostgreSQL state store are one cluster. Sealed fields, pseudonyms and token keys only
agree across nodes that share the master key and the mesh secret, and policies only hold alike where
the governance files are alike — so a node that lacks any of them is refused at start, with what is
missing and what to set, instead of answering 500 (or other values) at read time. The first node to
start records the fingerprints (``infra/state/cluster.py``); later nodes are checked against them.

A SQLite state store belongs to one machine: its node only gets the mesh id.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from hexmesh.errors import WorkspaceError
from hexmesh.infra.keys import MASTER_KEY_FILE, master_key
from hexmesh.infra.settings import variable
from hexmesh.infra.state.cluster import ClusterRecord, cluster_record, record_fingerprints
from hexmesh.product.policy.secret import mesh_secret
from hexmesh.product.runtime import Runtime

__all__ = ["ClusterMismatchError", "events_namespace", "join_cluster"]

_MESSAGE = b"hexmesh cluster membership v1"


class ClusterMismatchError(WorkspaceError):
    """This node lacks (or differs in) a secret or rule that every node of the cluster must share."""

    exit_code = 4


@dataclass(frozen=True)
class _Fingerprints:
    master_key: str | None
    secret: str | None
    governance: dict[str, str]


def events_namespace(runtime: Runtime) -> str:
    """The NATS stream of this mesh: the ``events_namespace`` setting, else ``hexmesh-<mesh id>``."""
    return runtime.settings.events_namespace or f"hexmesh-{cluster_record(runtime.state.db).mesh_id}"


def join_cluster(runtime: Runtime, *, accept_governance: bool = False) -> ClusterRecord:
    """Check this node against its cluster (the first node founds it); return the cluster's record.

    Raises:
        ClusterMismatchError: the master key, mesh secret or governance files are missing or differ.
    """
    record = cluster_record(runtime.state.db)
    if runtime.state.db.dialect.name != "postgresql":
        return record
    settings = runtime.settings
    if not record.founded:
        # The first node: its secrets (made now if it has none) become the cluster's.
        found = _Fingerprints(_check(master_key(settings)), _check(mesh_secret(settings)), _governance(runtime))
        assert found.master_key is not None and found.secret is not None
        if record_fingerprints(
            runtime.state.db, found.master_key, found.secret, found.governance, settings.node_name, found=True
        ):
            return cluster_record(runtime.state.db)
        record = cluster_record(runtime.state.db)  # another node founded it meanwhile: check against it
    mine = _Fingerprints(_local_master_key(runtime), _local_secret(runtime), _governance(runtime))
    problems = _secret_problems(record, mine, runtime)
    governance = _governance_problems(record.governance or {}, mine.governance, runtime)
    if governance and accept_governance and not problems:
        assert record.master_key_check is not None and record.secret_check is not None
        record_fingerprints(
            runtime.state.db,
            record.master_key_check,
            record.secret_check,
            mine.governance,
            settings.node_name,
            found=False,
        )
        return cluster_record(runtime.state.db)
    problems += governance
    if problems:
        raise ClusterMismatchError(
            f"this node ({settings.node_name}) cannot join the cluster on {runtime.state.url.split('@')[-1]} "
            f"(founded by {record.set_by}): " + "; ".join(problems) + ". Nothing was started"
        )
    return record


def _check(secret: bytes) -> str:
    return hmac.new(secret, _MESSAGE, hashlib.sha256).hexdigest()


def _local_master_key(runtime: Runtime) -> str | None:
    """The fingerprint of the master key this node has, without making one."""
    if not runtime.settings.master_key and not (runtime.settings.home / MASTER_KEY_FILE).is_file():
        return None
    return _check(master_key(runtime.settings))


def _local_secret(runtime: Runtime) -> str | None:
    if not runtime.settings.secret and not (runtime.settings.home / "mesh.secret").is_file():
        return None
    return _check(mesh_secret(runtime.settings))


def _governance(runtime: Runtime) -> dict[str, str]:
    folder = runtime.settings.governance_folder
    if not folder.is_dir():
        return {}
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _secret_problems(record: ClusterRecord, mine: _Fingerprints, runtime: Runtime) -> list[str]:
    problems = []
    for what, setting, theirs, ours in (
        ("master key", "master_key", record.master_key_check, mine.master_key),
        ("mesh secret", "secret", record.secret_check, mine.secret),
    ):
        if ours is None:
            problems.append(
                f"the cluster's {what} is missing: set {setting} ({variable(setting)}) to the value the other nodes use"
            )
        elif not hmac.compare_digest(ours, theirs or ""):
            source = variable(setting) if getattr(runtime.settings, setting) else "this node's home"
            problems.append(
                f"the {what} from {source} is not the cluster's: set {setting} ({variable(setting)}) to the value "
                "the other nodes use"
            )
    return problems


def _governance_problems(theirs: dict[str, str], ours: dict[str, str], runtime: Runtime) -> list[str]:
    missing = sorted(set(theirs) - set(ours))
    extra = sorted(set(ours) - set(theirs))
    differ = sorted(name for name in set(theirs) & set(ours) if theirs[name] != ours[name])
    if not (missing or extra or differ):
        return []
    parts = [
        f"{label} {', '.join(names)}"
        for label, names in (("missing", missing), ("not in the cluster's", extra), ("different", differ))
        if names
    ]
    return [
        f"the governance folder {runtime.settings.governance_folder} is not the cluster's ({'; '.join(parts)}): copy "
        "the cluster's governance files here (governance setting), or, if the rules changed on purpose and every "
        "node has the new files, start this node with --accept-governance"
    ]
