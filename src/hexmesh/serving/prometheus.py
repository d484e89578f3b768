"""Prometheus metrics of a node, computed at scrape time from the observers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from hexmesh.infra.state import now_us
from hexmesh.product import DeployedProduct
from hexmesh.product.observability import port_health
from hexmesh.serving.node import Node

__all__ = ["NodeCollector"]

_LEVEL = {"green": 0, "amber": 1, "red": 2}


class NodeCollector(Collector):
    """Gauges per port: rows, snapshots, age, and SLO status (0 green, 1 amber, 2 red)."""

    def __init__(self, node: Node, shown: Callable[[DeployedProduct], bool] | None = None) -> None:
        self.node = node
        #: Which products' gauges to collect (policies enforced: those the scraper runs); None: all.
        self.shown = shown

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["product", "port"]
        rows = GaugeMetricFamily("hexmesh_port_rows_added", "Rows added by the newest snapshot", labels=labels)
        snapshots = GaugeMetricFamily("hexmesh_port_snapshots", "Published snapshots", labels=labels)
        age = GaugeMetricFamily("hexmesh_port_age_seconds", "Seconds since the newest snapshot", labels=labels)
        slo = GaugeMetricFamily("hexmesh_slo_status", "SLO status: 0 green, 1 amber, 2 red", labels=[*labels, "slo"])
        allowed: dict[str, bool] = {}
        for reader in self.node.readers():
            if self.shown is not None:
                if reader.product.key not in allowed:
                    allowed[reader.product.key] = self.shown(reader.product)
                if not allowed[reader.product.key]:
                    continue
            key = [reader.product.key, reader.spec.name]
            publications = reader.publications()
            snapshots.add_metric(key, len(publications))
            if publications:
                rows.add_metric(key, publications[-1].rows)
                age.add_metric(key, (now_us() - publications[-1].published_us) / 1e6)
            health = port_health(reader)
            for check in health.checks:
                if check.status in _LEVEL:  # a check nobody configured has no level
                    slo.add_metric([*key, check.name], _LEVEL[check.status])
        streams = GaugeMetricFamily("hexmesh_open_streams", "Open downloads and subscriptions")
        streams.add_metric([], self.node.open_streams)
        yield from (rows, snapshots, age, slo, streams)
