"""``python -m bench [name ...]``: run the benchmarks (all by default) and print a table."""

from __future__ import annotations

import sys
from collections.abc import Callable

from bench import compute, memory, publish, sandbox, timetravel
from bench.report import Result, console, show

BENCHMARKS: dict[str, Callable[[], Result]] = {
    "publish": publish.run,
    "timetravel": timetravel.run,
    "memory": memory.run,
    "compute": compute.run,
    "sandbox": sandbox.run,
}


def main(names: list[str]) -> int:
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        console.print(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
        return 2
    results = []
    for name in names or list(BENCHMARKS):
        console.print(f"running [bold]{name}[/] …")
        result = BENCHMARKS[name]()
        console.print(f"  wrote {result.write()}")
        results.append(result)
    show(results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
