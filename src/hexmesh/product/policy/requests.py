"""Access requests through the sidecar: the consumer asks, an owner decides, the policy decider follows.

The CLI, the HTTP control port and the UI call these two functions, so each surface only parses
and renders. Every step is audited by the store; the next read sees the new grant set.
"""

from __future__ import annotations

from hexmesh.governance import Principal
from hexmesh.governance.grants import AccessRequest
from hexmesh.infra.state import access_requests
from hexmesh.product.deployed import DeployedProduct
from hexmesh.product.policy.sidecar import PolicySidecar

__all__ = ["decide_access", "request_access"]

DAY_US = 86_400 * 1_000_000


def request_access(
    sidecar: PolicySidecar, principal: Principal, ref: str, port: str, purpose: str, note: str = ""
) -> AccessRequest:
    """Ask for read access to ``port`` of the product ``ref`` for ``purpose``.

    Raises:
        AccessDeniedError: the principal may not ask (anonymous, or no requestAccess permit).
        PolicyError: no purpose given.
        NotFoundError: no such product or port.
    """
    product = DeployedProduct.load(sidecar.runtime, ref)
    product.output(port)
    decision = sidecar.decider(product).decide(principal, "requestAccess", port, purpose=purpose)
    return access_requests.submit_request(sidecar.db, principal, product.key, port, purpose, note, decision)


def decide_access(
    sidecar: PolicySidecar,
    request_id: str,
    decider: Principal,
    verdict: str,
    note: str = "",
    *,
    duration_us: int = 90 * DAY_US,
) -> AccessRequest:
    """Approve, deny or revoke (``verdict``) a request; only principals with ``control`` may.

    Raises:
        AccessDeniedError: the decider has no control of the product, or decides its own request.
        PolicyError: a denial without a note, a request in the wrong state, a duration over a year.
    """
    current = access_requests.get_request(sidecar.db, request_id)
    product = DeployedProduct.load(sidecar.runtime, current.product)
    control = sidecar.decider(product).decide(decider, "control", current.port)
    return access_requests.decide_request(
        sidecar.db, request_id, decider, control, verdict=verdict, note=note, duration_us=duration_us
    )
