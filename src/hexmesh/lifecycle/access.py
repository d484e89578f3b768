"""Deploy-time access checks: a product may deploy only if it may read each of its inputs as its own principal.

The same plan the run uses (:mod:`hexmesh.product.policy.upstream`), so a missing grant is a plan
and deploy error naming the input port and the access request to file, never a run-time surprise.
"""

from __future__ import annotations

from collections.abc import Mapping

from hexmesh.errors import HexmeshError, NotFoundError
from hexmesh.lifecycle.pins import resolve_pins
from hexmesh.product import DeployedProduct, Runtime
from hexmesh.product.policy import PolicySidecar
from hexmesh.product.policy.upstream import input_refusal
from hexmesh.product.remote import locate, refusal
from hexmesh.spec import DataProductSpec, InputPort, parse_address

__all__ = ["input_refusals"]


def input_refusals(
    runtime: Runtime, spec: DataProductSpec, batch: Mapping[str, DataProductSpec] | None = None
) -> list[str]:
    """Why ``spec`` may not read its upstream ports; ``batch``: specs deployed with it (upstreams first).

    An upstream neither deployed nor in the batch is not checked here: validation reports it.
    """
    reading = [p for p in spec.input_ports if p.from_ is not None]
    if not reading:
        return []
    sidecar = PolicySidecar(runtime)
    pins = resolve_pins(runtime, spec)
    problems = []
    for port in reading:
        address = parse_address(port.from_ or "")
        key = address.product_key
        upstream: DataProductSpec | DeployedProduct
        planned = (batch or {}).get(key)
        if planned is not None and address.major in (None, planned.major):
            upstream = planned
        else:
            major = address.major if address.major is not None else pins.get(port.name, (key, None))[1]
            try:
                upstream = DeployedProduct.load(runtime, key, major=major)
            except NotFoundError:
                elsewhere = _remote_refusal(runtime, spec, port)
                if elsewhere is not None:
                    problems.append(elsewhere)
                continue
        refusal = input_refusal(sidecar, spec, port, upstream)
        if refusal is not None:
            problems.append(refusal)
    return problems


def _remote_refusal(runtime: Runtime, spec: DataProductSpec, port: InputPort) -> str | None:
    """Why the node serving an input this workspace does not hold would refuse ``spec``'s principal
    (docs/adr/0033): the same words as a local refusal, naming the node."""
    settings = runtime.settings
    if not settings.peers:
        return None
    try:
        remote = locate(settings, spec, port)
    except HexmeshError as exc:
        return str(exc)
    return refusal(settings, remote, spec, port) if remote is not None else None
