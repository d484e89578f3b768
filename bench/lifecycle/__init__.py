"""Lifecycle benchmarks: propagation through the scheduler, incremental ingest from PostgreSQL.

``python -m bench.lifecycle.propagation`` and ``python -m bench.lifecycle.ingest``; results in
``bench/results/lifecycle-propagation.json`` and ``bench/results/lifecycle-ingest.json``.
"""
