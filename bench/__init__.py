"""hexmesh benchmarks: each compares hexmesh with a baseline in the same run and reports ratios.

Run them with ``python -m bench`` (all) or ``python -m bench publish`` (one); results are
written to ``bench/results/<name>.json``. Benchmarks never assert times.
"""
