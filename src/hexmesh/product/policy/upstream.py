"""A product reads its input ports as a principal: exactly as that principal would read the upstream from outside.

The principal is :func:`~hexmesh.governance.product_principal` (``DataProduct::<domain/name>``, in
its owner team's group). Its read of an upstream port goes through the door (:mod:`.door`): grants,
the input port's ``purpose``, masks, pseudonyms, row filters, the synthetic variant, sealed fields
opened only where a grant shows them in clear. Deploy checks the same plan (:func:`input_refusal`),
so a missing grant is refused before anything runs, and a grant revoked later fails the next run
with the same message.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from hexmesh.governance import AccessDeniedError, PolicyDecider, Principal, ReadPlan, plan_read, product_principal
from hexmesh.product.deployed import DeployedProduct
from hexmesh.product.policy.door import ShapedFiles, shaped_files
from hexmesh.product.policy.read import PortRead, Window
from hexmesh.product.policy.requests import grants
from hexmesh.product.policy.sidecar import PolicySidecar
from hexmesh.spec import DataProductSpec, InputPort

__all__ = ["InputRefusedError", "consumer_principal", "input_refusal", "upstream_files"]


class InputRefusedError(AccessDeniedError):
    """A product may not read an input port's upstream as its own principal."""


def consumer_principal(spec: DataProductSpec) -> Principal:
    """The principal ``spec``'s product reads its inputs as."""
    return product_principal(spec.key, spec.owner)


def _message(consumer: DataProductSpec, port: InputPort, plan: ReadPlan) -> str:
    address = port.from_ or ""
    target = "dp://" + plan.decision.address
    purpose = port.purpose or "<purpose>"
    if plan.decision.allowed:  # aggregate-only: rows are what an input needs
        why = f"it may only ask differentially private aggregates of {target}"
    else:
        why = "; ".join(plan.decision.reasons) or "no policy grants it"
    return (
        f"input port {port.name!r} of {consumer.key} reads {address} as {consumer_principal(consumer).key} "
        f"(owner team {consumer.owner}), which may not read it: {why}. Ask for access: hexmesh access request "
        f"{target} --purpose {purpose} --for {consumer.key}"
        + ("" if port.purpose else f", and declare that purpose on input port {port.name!r} (purpose: ...)")
    )


def _refused(plan: ReadPlan) -> bool:
    return not plan.decision.allowed or plan.variant == "aggregate"


def input_refusal(
    sidecar: PolicySidecar, consumer: DataProductSpec, port: InputPort, upstream: DataProductSpec | DeployedProduct
) -> str | None:
    """Why ``consumer`` may not read ``port``'s upstream (deployed, or ``upstream``'s spec about to be
    deployed in the same batch), or None when it may. Decides only: nothing is audited or read."""
    address = port.from_ or ""
    name = address.rstrip("/").rsplit("/", 1)[-1]
    if isinstance(upstream, DeployedProduct):
        decider = sidecar.decider(upstream)
    else:
        decider = PolicyDecider(upstream, mesh=sidecar.governance.policies, grants=grants(sidecar.db, upstream.key))
    plan = plan_read(decider, consumer_principal(consumer), name, purpose=port.purpose)
    return _message(consumer, port, plan) if _refused(plan) else None


def upstream_files(
    sidecar: PolicySidecar,
    consumer: DataProductSpec,
    port: InputPort,
    upstream: DeployedProduct,
    name: str,
    *,
    as_of: datetime,
    window: Window | None,
    referenced: Collection[str] | None,
    folder: Path,
) -> ShapedFiles:
    """The rows of ``upstream``'s port ``name`` as ``consumer`` may read them, as Parquet files for a
    compute engine: the table's own data files when ``consumer`` sees the port as stored, else its
    view staged into ``folder`` batch by batch, with only the columns the consumer's SQL names.

    ``referenced``: the lower-cased names the consumer's SQL uses (None: any); sealed columns it
    never names are neither read nor opened.

    Raises:
        InputRefusedError: no grant (or aggregate-only), saying which access request to file; audited.
    """
    read = PortRead(
        upstream, consumer_principal(consumer), name, via="input", as_of=as_of, window=window, purpose=port.purpose
    )
    read = _admitted(sidecar, read, consumer, port, referenced)
    return shaped_files(sidecar, read, folder=folder, needed=referenced)


def _admitted(
    sidecar: PolicySidecar,
    read: PortRead,
    consumer: DataProductSpec,
    port: InputPort,
    referenced: Collection[str] | None,
) -> PortRead:
    """``read`` with the columns to read; refused (and audited) without a grant."""
    plan = sidecar.plan(read.product, read.principal, read.port, purpose=read.purpose)
    if _refused(plan):
        sidecar.record(plan, via=read.via, details={"consumer": consumer.key, "input": port.name})
        raise InputRefusedError(_message(consumer, port, plan))
    if referenced is None:
        return read
    output = read.product.output(read.port)
    sealed = {f.name for f in output.properties if f.classification == "restricted"}
    unused = {n for n in sealed if n.lower() not in referenced}
    return replace(read, columns=tuple(n for n in plan.columns if n not in unused)) if unused else read
