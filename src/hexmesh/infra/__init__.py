"""Utility plane: storage, tables, compute, event logs and the platform's own state.

One Protocol per capability, one module per backend; backends load lazily.
"""
