"""The observability port as a node serves it: SLO status, shape and drift per port, and the latest runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hexmesh.governance import Principal
from hexmesh.infra.state import RunRecord
from hexmesh.product import OutputPortReader
from hexmesh.product.observability import port_health, worst
from hexmesh.product.policy import one_request
from hexmesh.serving import disclosure
from hexmesh.serving.node import Node

__all__ = ["observability_report"]


def observability_report(node: Node, domain: str, name: str, caller: Principal) -> dict[str, Any]:
    """Per port: freshness, timeliness, completeness, volume, schema, shape and drift; the last ten runs and why
    each started.

    The caller sees the ports it may discover; row counts and column statistics only where it reads
    every row (column statistics: the columns it reads in clear), and the errors of failed runs only
    when it runs the product (an error may quote data).
    """
    product = node.product(domain, name)
    ports = [port_health(OutputPortReader(node.runtime, product, p.name)).as_dict() for p in product.spec.output_ports]
    with one_request():
        principal = disclosure.require_discovery(node, caller, product)
        discoverable = disclosure.discoverable_ports(node, principal, product)
        ports = [
            disclosure.visible_health(node, caller, product, p)
            for p in ports
            if p["address"].rsplit("/", 1)[-1] in discoverable
        ]
        owner = disclosure.may_control(node, caller, product)
        # A run's rows add up every port's: only for who may see the counts of each.
        counts = owner or all(
            disclosure.may_see_counts(node, caller, product, p.name) for p in product.spec.output_ports
        )
    return {
        "product": f"dp://{product.key}",
        "status": worst([p["status"] for p in ports]),
        "paused": node.control.paused(product.key),
        "ports": ports,
        # Why each run started: its trigger for everyone who may discover the product; the reason (which
        # names upstream snapshots, files or WAL positions) and errors (which may quote data) for its owners.
        "runs": [_run(r, owner, counts) for r in node.runtime.state.runs(product.key, limit=10)],
    }


def _run(run: RunRecord, owner: bool, counts: bool) -> dict[str, Any]:
    """One run: when, how long and how it ended for everyone who may discover the product; rows
    published for who may see counts; why it started and errors (which may quote data) for its owners."""
    finished = run.finished_us
    return {
        "id": run.id,
        "status": run.status,
        "trigger": run.trigger,
        "started": _iso(run.started_us),
        "finished": _iso(finished) if finished else None,
        "duration_s": round((finished - run.started_us) / 1e6, 3) if finished else None,
        "rows": _rows(run.details.get("rows")) if counts else None,
        "reason": run.details.get("reason") if owner else None,
        "error": run.error if owner else None,
        # A running run says where it is (to who runs the product): its stage, and rows read
        # (then computed) per port so far.
        **(
            {"stage": run.details.get("stage"), "rows_so_far": run.details.get("rows_so_far")}
            if run.status == "running" and owner
            else {}
        ),
    }


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, tz=UTC).isoformat(timespec="seconds")


def _rows(rows: Any) -> dict[str, int] | None:
    """Rows published per port, as the run recorded them (None when it published nothing)."""
    if not isinstance(rows, dict):
        return None
    return {str(port): int(n) for port, n in rows.items() if isinstance(n, int)}
