"""PostgreSQL's numeric quotient in the engine (ADR 0042) against the engine's own double.

Over ``--rows`` (default 3,000,000) random ``numeric(10,2)`` pairs in an in-memory DuckDB with the
SQL port's macros (``product/sql/quotient.py``), interleaved rounds, median of ``--rounds`` (3):

- ``sum(x / y)``: the engine's double, what a quotient inside an expression still is;
- the pair for every row (value and PostgreSQL's text), what a quotient that is a result column costs;
- ``avg(x)`` as a double and as shown exactly, over the whole table and over 11 groups.

Writes bench/results/sql-quotient.json. Run: ``python -m bench.sql.quotient``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import duckdb

from hexmesh.product.sql.quotient import MACROS

QUERIES = {
    "quotient, double": "SELECT sum(x / y) FROM t",
    "quotient, exact per row": "SELECT max(hexmesh_shown_quotient(x, y).hexmesh_shown) FROM t",
    "avg, double": "SELECT avg(x::DOUBLE) FROM t",
    "avg, exact": "SELECT hexmesh_shown_avg(x) FROM t",
    "avg by 11 groups, double": "SELECT g, avg(x::DOUBLE) FROM t GROUP BY g",
    "avg by 11 groups, exact": "SELECT g, hexmesh_shown_avg(x) FROM t GROUP BY g",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    con = duckdb.connect(config={"integer_division": True, "threads": args.threads})
    for macro in MACROS:
        con.execute(f"CREATE MACRO {macro}")
    con.execute(
        "CREATE TABLE t AS SELECT (random() * 100000)::DECIMAL(10, 2) AS x, "
        f"(random() * 1000 + 0.01)::DECIMAL(10, 2) AS y, (random() * 10)::INTEGER AS g FROM range({args.rows})"
    )
    load_at_start = os.getloadavg()[0]
    times: dict[str, list[float]] = {name: [] for name in QUERIES}
    for _ in range(args.rounds):
        for name, sql in QUERIES.items():
            started = time.perf_counter()
            con.sql(sql).fetchall()
            times[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(values) for name, values in times.items()}
    result = {
        "rows": args.rows,
        "rounds": args.rounds,
        "load_at_start": load_at_start,
        "load_at_end": os.getloadavg()[0],
        "seconds": medians,
        "exact / double": {
            "quotient": medians["quotient, exact per row"] / medians["quotient, double"],
            "avg": medians["avg, exact"] / medians["avg, double"],
            "avg by 11 groups": medians["avg by 11 groups, exact"] / medians["avg by 11 groups, double"],
        },
    }
    out = Path(__file__).resolve().parents[1] / "results" / "sql-quotient.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
