"""``hexmesh retire``: stop serving a major, keep or delete its data as declared, record why.

Retirement refuses while live products still read the major, unless forced; forced, it names
them and leaves each a notice (their next run fails with a clear input error and they keep
serving their last good snapshot). A retired major is never served again: reads raise
:class:`NotFoundError` saying it is retired. The spec's ``retention`` decides the data:
``keep`` leaves the tables as they are (readable by engines that go to Iceberg directly),
``delete`` purges them. Publications and runs stay in the state store as the record.
The replication slots and publications of its ``mode: cdc`` inputs are dropped (a slot keeps
WAL on the source database for as long as it exists); a slot that cannot be dropped (the
database is down) is named in the retirement's details with the SQL to drop it by hand.
"""

from __future__ import annotations

from hexmesh.errors import ConcurrentRunError, DeployError, HexmeshError, NotFoundError
from hexmesh.infra.state import MajorState, now_us
from hexmesh.lifecycle.deprecate import LifecycleState, consumers_of, lifecycle_state
from hexmesh.product import DeployedProduct, Runtime
from hexmesh.product.cdc import cdc_ports, drop_slot, port_slot
from hexmesh.spec import parse_address

__all__ = ["retire"]

_LOCK_TTL_US = 600 * 1_000_000


def retire(runtime: Runtime, ref: str, *, major: int | None = None, force: bool = False) -> LifecycleState:
    """Retire ``ref`` at ``major`` (``domain/product@major``); idempotent once retired."""
    address = parse_address(ref)
    key, major = address.product_key, major if major is not None else address.major
    if major is None:
        raise DeployError(f"say which major to retire: {key}@<major> (for example {key}@1)")
    versions = [v for v in runtime.state.versions(key) if v.major == major]
    if not versions:
        raise NotFoundError(f"{key} has no deployed major {major}; run `hexmesh status {key}`")
    current = runtime.state.major_state(key, major)
    if current.status == "retired":
        return lifecycle_state(runtime, key, major)
    dependents = consumers_of(runtime, key, major)
    if dependents and not force:
        raise DeployError(
            f"{key}@{major} still has {len(dependents)} consumer(s): {', '.join(dependents)}; move them "
            f"to another major (from: dp://{key}@<major>/...) and redeploy them, or pass --force to "
            "retire anyway (their runs will then fail and they keep serving their last snapshot)"
        )
    lock = f"run:{key}@{major}"
    holder = runtime.state.acquire_lock(lock, "retire", _LOCK_TTL_US)
    if holder is not None:
        raise ConcurrentRunError(f"{key}@{major} is running (run {holder['owner']}); retire it when the run ends")
    try:
        retention = DeployedProduct(versions[0]).spec.retention
        deleted = _apply_retention(runtime, DeployedProduct(versions[0]), retention)
        slots = _drop_slots(DeployedProduct(versions[0]))
        details = {
            "retention": retention,
            "deleted_tables": deleted,
            "forced": force,
            "dependents": dependents,
            **slots,
        }
        message = f"dp://{key}@{major} is retired and no longer serves"
        message += f"; move to {current.successor}" if current.successor else ""
        with runtime.state.transaction() as conn:
            runtime.state.set_major_state(
                conn,
                MajorState(key, major, "retired", current.sunset, current.successor, current.reason, now_us(), details),
            )
            for consumer in dependents:
                runtime.state.add_notice(conn, consumer.split("@")[0], key, major, "retired", message)
    finally:
        runtime.state.release_lock(lock, "retire")
    return lifecycle_state(runtime, key, major)


def _apply_retention(runtime: Runtime, product: DeployedProduct, retention: str) -> list[str]:
    if retention != "delete":
        return []
    deleted = []
    for port in product.spec.output_ports:
        ident = product.table_id(port.name)
        if runtime.tables.exists(ident):
            runtime.tables.catalog.purge_table(ident)
            deleted.append(".".join(ident))
    return deleted


def _drop_slots(product: DeployedProduct) -> dict[str, list[str]]:
    """Drop the CDC slots of a major that will never run again; report what could not be dropped."""
    dropped, kept = [], []
    for port, spec in cdc_ports(product.spec.input_ports):
        slot = port_slot(product.key, product.record.major, port)
        try:
            if drop_slot(spec, slot):
                dropped.append(slot)
        except HexmeshError as exc:
            kept.append(str(exc))
    return {"dropped_slots": dropped, "slot_errors": kept} if dropped or kept else {}
