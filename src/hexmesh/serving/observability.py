"""The observability port as a node serves it: SLO status, shape and drift per port, and the latest runs."""

from __future__ import annotations

from typing import Any

from hexmesh.governance import Principal
from hexmesh.product import OutputPortReader
from hexmesh.product.observability import port_health, worst
from hexmesh.product.policy import one_request
from hexmesh.serving import disclosure
from hexmesh.serving.node import Node

__all__ = ["observability_report"]


def observability_report(node: Node, domain: str, name: str, caller: Principal | None) -> dict[str, Any]:
    """Per port: freshness, timeliness, completeness, volume, schema, shape and drift; the last ten runs and why
    each started.

    With policies enforced, the caller sees the ports it may discover; row counts and column
    statistics only where it reads every row (column statistics: the columns it reads in clear),
    and the errors of failed runs only when it runs the product (an error may quote data).
    """
    product = node.product(domain, name)
    ports = [port_health(OutputPortReader(node.runtime, product, p.name)).as_dict() for p in product.spec.output_ports]
    owner = True
    if caller is not None:
        with one_request():
            principal = disclosure.require_discovery(node, caller, product)
            discoverable = disclosure.discoverable_ports(node, principal, product)
            ports = [
                disclosure.visible_health(node, caller, product, p)
                for p in ports
                if p["address"].rsplit("/", 1)[-1] in discoverable
            ]
            owner = disclosure.may_control(node, caller, product)
    return {
        "product": f"dp://{product.key}",
        "status": worst([p["status"] for p in ports]),
        "paused": node.control.paused(product.key),
        "ports": ports,
        # Why each run started: its trigger for everyone who may discover the product; the reason (which
        # names upstream snapshots, files or WAL positions) and errors (which may quote data) for its owners.
        "runs": [
            {
                "id": r.id,
                "status": r.status,
                "trigger": r.trigger,
                "reason": r.details.get("reason") if owner else None,
                "error": r.error if owner else None,
                # A running run says where it is (to who runs the product): its stage, and rows read
                # (then computed) per port so far.
                **(
                    {"stage": r.details.get("stage"), "rows_so_far": r.details.get("rows_so_far")}
                    if r.status == "running" and owner
                    else {}
                ),
            }
            for r in node.runtime.state.runs(product.key, limit=10)
        ],
    }
