"""Who acts on a node's privileged routes (control, ingest), and the audit of every attempt.

Two credentials act there. An API token (``hxm_…``, ``hexmesh token create``) acts when the
product's policies let its principal ``control`` the product: its owner by the built-in policy,
anyone else a policy names. An operator token (``tokens.yaml``, ``HEXMESH_TOKENS``) acts by its
role: governance on everything, owner on the products it lists. Refusals are audited before
they are raised (401 without a valid credential, 403 without the right).
"""

from __future__ import annotations

from typing import Any

from hexmesh.governance import AuthenticationError
from hexmesh.product import DeployedProduct
from hexmesh.product.control import ForbiddenError, audited
from hexmesh.serving.node import Node

__all__ = ["API_TOKEN_PREFIX", "acting"]

#: How an API token starts (an operator token is any other string).
API_TOKEN_PREFIX = "hxm_"


def acting(node: Node, secret: str | None, product: DeployedProduct, action: str, detail: Any = None) -> str:
    """The name of who may do ``action`` on ``product`` with ``secret``, as the audit log names it."""
    key = product.key
    if not (secret or "").startswith(API_TOKEN_PREFIX):
        return audited(node.tokens, node.audit, secret, key, action, detail).name
    try:
        principal = node.policies.authenticate(secret)
    except AuthenticationError as exc:
        node.audit.record("unknown-token", key, action, "refused", str(exc))
        raise
    decision = node.policies.engine(product).decide(principal, "control")
    if not decision.allowed:
        node.audit.record(principal.key, key, action, "refused", "; ".join(decision.reasons))
        raise ForbiddenError(
            f"{principal.key} may not {action} dp://{key}: only its owner ({product.spec.owner}) or a principal "
            "a policy grants control may"
        )
    return principal.key
