"""Benchmarks of the policy plane: decision latency, masking throughput, DP query latency."""
