"""Who acts on a node's privileged routes (control, ingest), and the audit of every attempt.

An API token (``hxm_…``) acts when its principal controls the product (its owner, or whom a
policy grants ``control``) or holds a role allowed the action (operator, governance); operator
tokens in clear text still act until migrated. The decision is the node's
:class:`~hexmesh.product.authority.Authority`; refusals are audited before they are raised (401
without a valid credential, 403 without the right).
"""

from __future__ import annotations

from typing import Any

from hexmesh.product import DeployedProduct
from hexmesh.serving.node import Node

__all__ = ["acting"]


def acting(node: Node, secret: str | None, product: DeployedProduct | None, action: str, detail: Any = None) -> str:
    """The name of who may do ``action`` on ``product`` (None: the mesh) with ``secret``, as the audit log names it."""
    return node.authority.authorize(secret, action, product, detail=detail).name
