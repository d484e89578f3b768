"""Deploy-time access checks: a product may deploy only if it may read each of its inputs as its own principal.

The same plan the run uses (:mod:`hexmesh.product.policy.upstream`), so a missing grant is a plan
and deploy error naming the input port and the access request to file, never a run-time surprise.
"""

from __future__ import annotations

from collections.abc import Mapping

from hexmesh.errors import NotFoundError
from hexmesh.lifecycle.pins import resolve_pins
from hexmesh.product import DeployedProduct, Runtime
from hexmesh.product.policy import PolicySidecar
from hexmesh.product.policy.upstream import input_refusal
from hexmesh.spec import DataProductSpec, parse_address

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
                continue
        refusal = input_refusal(sidecar, spec, port, upstream)
        if refusal is not None:
            problems.append(refusal)
    return problems
