"""``python -m bench.governance``: run the three policy benchmarks and print one table."""

from __future__ import annotations

from bench.governance import decisions, dp, masking
from bench.report import show

if __name__ == "__main__":
    results = [decisions.run(), masking.run(), dp.run()]
    for result in results:
        result.write()
    show(results)
