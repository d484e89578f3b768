"""Cluster benchmarks: failover after a node dies, and many nodes against one.

``python -m bench.cluster.failover`` and ``python -m bench.cluster.scale``; results in
``bench/results/cluster-failover.json`` and ``bench/results/cluster-scale.json``. Real ``hexmesh
serve`` processes on the PostgreSQL server at 127.0.0.1:5432 and a NATS server of their own.
"""
