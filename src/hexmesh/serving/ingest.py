"""HTTP ingest as a node serves it: JSON events stored durably for an input's next run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hexmesh.product.ingest import MAX_EVENTS, IngestReceipt, ingest_events, landing_folder
from hexmesh.serving.control import acting
from hexmesh.serving.node import Node

__all__ = ["MAX_EVENTS", "IngestReceipt", "accepting", "store"]


def accepting(node: Node, domain: str, name: str, port: str, secret: str | None) -> tuple[str, str | None]:
    """(product key, who acts) for events sent to input ``port``, checked before the body is read.

    An unknown port is a 404 and one that cannot take events a 409; on a node that enforces
    policies the sender must be allowed to ``ingest`` (``who`` is None otherwise).
    """
    if node.options.auth:  # 401 before anything about the product is told (404, 409)
        node.authority.authenticate(secret, "ingest", f"{domain}/{name}")
    product = node.product(domain, name)
    landing_folder(product, port, product.confinement(node.workspace.settings))
    who = acting(node, secret, product, "ingest", {"input": port}) if node.options.auth else None
    return product.key, who


def store(node: Node, key: str, port: str, events: Sequence[Mapping[str, Any]], who: str | None) -> IngestReceipt:
    """Append the events to the input's landing folder (audited when someone is named)."""
    receipt = ingest_events(node.workspace.runtime, key, port, events)
    if who is not None:
        node.audit.record(who, key, "ingest", "ok", {"input": port, "events": receipt.events})
    return receipt
