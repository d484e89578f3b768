"""SLO breaches as CloudEvents on the product's stream, once per check and snapshot."""

from __future__ import annotations

from hexmesh.infra.events import Event, EventLog
from hexmesh.infra.state import from_us, now_us
from hexmesh.product.eventstream import product_stream
from hexmesh.product.observability import PortHealth
from hexmesh.product.ports import OutputPortReader

__all__ = ["BREACH_EVENT", "breach_events"]

BREACH_EVENT = "dev.hexmesh.slo.breached"


async def breach_events(reader: OutputPortReader, health: PortHealth, log: EventLog) -> int:
    """Append a breach event for every red check; the id makes each breach appear once."""
    latest = reader.publication()
    snapshot = latest.snapshot_id if latest else 0
    now = from_us(now_us()).isoformat()
    events = [
        Event(
            f"{reader.spec.name}-{check.name}-{snapshot}",
            {
                "specversion": "1.0",
                "id": f"{reader.spec.name}-{check.name}-{snapshot}",
                "source": reader.address,
                "type": BREACH_EVENT,
                "time": now,
                "processingtime": now,
                "datacontenttype": "application/json",
                "data": {
                    "slo": check.name,
                    "status": check.status,
                    "actual": check.actual,
                    "target": check.target,
                    "detail": check.detail,
                    "snapshotid": snapshot,
                },
            },
        )
        for check in health.checks
        if check.status == "red"
    ]
    return await log.append(product_stream(reader.product.key), events) if events else 0
