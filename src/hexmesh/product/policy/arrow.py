"""The sidecar on Arrow data: what the files, events, discovery and client ports call.

Every function plans the read (Cedar: product + mesh policies + live grants), audits the decision
and raises :class:`~hexmesh.governance.AccessDeniedError` when nothing may be returned, so a port
needs one call per request and no policy code of its own::

    principal = sidecar.authenticate(bearer_token)             # None -> ANONYMOUS; bad -> AuthenticationError
    table = governed_table(sidecar, product, principal, "daily", snapshot_table,
                           purpose=purpose, variant=variant, via="files", snapshot=(table_id, snapshot_id))
    for batch in governed_batches(sidecar, product, principal, "plays", batches, via="events"): ...
    schema = discoverable_schema(sidecar, product, principal, "daily")    # None: hide the port

Map the errors once per surface: AuthenticationError -> 401, AccessDeniedError -> 403 (its
message says which policies decided and how to ask for access).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import Any, Literal

import pyarrow as pa

from hexmesh.governance import AccessDeniedError, Principal, ReadPlan, apply_plan, plan_schema
from hexmesh.infra.tables import arrow_schema
from hexmesh.product.deployed import DeployedProduct
from hexmesh.product.policy.sidecar import PolicySidecar
from hexmesh.spec import OutputPort

__all__ = ["discoverable_schema", "governed_batches", "governed_table", "port_schema"]

Variant = Literal["rows", "synthetic"]


def port_schema(port: OutputPort) -> pa.Schema:
    """The declared Arrow schema of an output port."""
    return arrow_schema(port)


def _plan(
    sidecar: PolicySidecar,
    product: DeployedProduct,
    principal: Principal,
    port: str,
    purpose: str,
    via: str,
    details: Mapping[str, Any] | None = None,
) -> ReadPlan:
    plan = sidecar.plan(product, principal, port, purpose=purpose)
    sidecar.record(plan, via=via, details=details)
    if not plan.decision.allowed:
        raise AccessDeniedError(
            "; ".join(plan.decision.reasons)
            + f". Ask for access: hexmesh access request dp://{product.key}/{port} --purpose <purpose>"
        )
    return plan


def governed_table(
    sidecar: PolicySidecar,
    product: DeployedProduct,
    principal: Principal,
    port: str,
    table: pa.Table,
    *,
    purpose: str = "",
    variant: Variant = "rows",
    via: str = "files",
    snapshot: Hashable | None = None,
    details: Mapping[str, Any] | None = None,
) -> pa.Table:
    """``table`` (a snapshot's rows, all declared columns) as ``principal`` may see it.

    ``variant="synthetic"`` returns synthetic rows fitted on what the principal may see (same
    visible columns and transformations); principals with aggregate-only access get an error
    pointing to the SQL port's DP aggregates. ``snapshot`` (e.g. ``(table_id, snapshot_id)``)
    lets the sidecar cache the result per plan fingerprint: snapshots never change.
    Restricted (encrypted) columns must be decrypted before this call. ``details`` (what the
    caller sent: filter, window, ...) go into the audit entry.
    """
    plan = _plan(sidecar, product, principal, port, purpose, via, details)
    if variant == "synthetic":
        if snapshot is None:
            raise ValueError("the synthetic variant needs a snapshot key (its seed and cache key)")
        return sidecar.variants.synthetic(snapshot, lambda: table, plan)
    if plan.variant != "rows":
        raise AccessDeniedError(
            f"{plan.decision.principal} may only read the {plan.variant} variant of {plan.decision.address}"
            + (": ask for ?variant=synthetic" if plan.variant == "synthetic" else ": use DP aggregates (SQL port)")
        )
    if snapshot is not None:
        return sidecar.variants.masked(snapshot, lambda: table, plan)
    return apply_plan(table, plan, sidecar.secret)


def governed_batches(
    sidecar: PolicySidecar,
    product: DeployedProduct,
    principal: Principal,
    port: str,
    batches: Iterable[pa.RecordBatch],
    *,
    purpose: str = "",
    via: str = "events",
) -> Iterator[pa.RecordBatch]:
    """A stream of batches as ``principal`` may see it; planned and audited once, before the first batch.

    Raises AccessDeniedError on the first ``next()`` when the principal may not read rows.
    Batches that the row filter empties are skipped.
    """
    plan = _plan(sidecar, product, principal, port, purpose, via)
    if plan.variant != "rows":
        raise AccessDeniedError(f"{plan.decision.principal} may not stream rows of {plan.decision.address}")
    for batch in batches:
        masked = apply_plan(pa.Table.from_batches([batch]), plan, sidecar.secret)
        for out in masked.to_batches():
            if out.num_rows:
                yield out


def discoverable_schema(
    sidecar: PolicySidecar, product: DeployedProduct, principal: Principal, port: str, *, purpose: str = ""
) -> pa.Schema | None:
    """The port's schema as the principal would read it, or None when it may read nothing of it.

    Use it in the discovery document and the client's ``schema()``: hidden columns are left out
    and transformed ones carry their served type (pseudonyms and bands are strings). A principal
    granted only ``discover`` sees the declared type of each column it may discover.
    """
    plan = sidecar.plan(product, principal, port, purpose=purpose)
    output = product.output(port)
    if plan.decision.allowed:
        return plan_schema(port_schema(output), plan)
    # ``discover`` alone (e.g. public metadata for anyone) shows the declared columns it reaches, no data.
    decider = sidecar.decider(product)
    if not decider.decide(principal, "discover", port, purpose=purpose).allowed:
        return None
    names = [f.name for f in output.properties]
    shown = {
        n
        for n, d in decider.decide_columns(principal, port, names, action="discover", purpose=purpose).items()
        if d.allowed
    }
    schema = port_schema(output)
    return pa.schema([f for f in schema if f.name in shown], metadata=schema.metadata)
