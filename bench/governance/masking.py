"""Masking throughput: a read of a Parquet snapshot through a masked, row-filtered plan, against the plain read.

Baseline in the same run: reading the same snapshot (in memory, so disks do not blur the ratio)
and applying the owner's plan (every column kept, no filter).
Also measures the same through the SQL port (:mod:`bench.governance.sql_port`: real psycopg
clients over TLS, a masked + row-filtered token against the owner's unrestricted one) and sealing
and opening restricted values (AES-GCM per subject).
Writes bench/results/governance-masking.json. Run: ``python -m bench.governance.masking [rows]``.
"""

from __future__ import annotations

import sys
from functools import partial
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from duckdb.func import ARROW
from duckdb.sqltypes import VARCHAR

from bench.governance import _data
from bench.governance.sql_port import through_sql_port
from bench.report import Result, median_time, show
from hexmesh.governance import (
    ReadPlan,
    apply_plan,
    decrypt_column,
    encrypt_column,
    plan_read,
    pseudonymize_udf,
    sql_projection,
    tokenize_udf,
)
from hexmesh.governance.projection import PSEUDONYMIZE_UDF, TOKENIZE_UDF
from hexmesh.governance.pseudonym import _MEMO
from tests.governance.conftest import ANALYST, OWNER, SECRET, SELLER_EU

REPEAT = 5
#: Rows of the SQL-port measurement (a product is deployed and run with them first).
SQL_PORT_ROWS = 200_000


def run(n: int = 1_000_000) -> Result:
    decider = _data.decider()
    table = _data.rows(n)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    snapshot = sink.getvalue()
    plans = {
        "owner (baseline)": plan_read(decider, OWNER, "daily"),
        "analyst: pseudonymize + 3 generalizations": plan_read(decider, ANALYST, "daily", purpose="reporting"),
        "seller: row filter + pseudonymize + tokenize + 2 generalizations": plan_read(decider, SELLER_EU, "daily"),
    }
    timings: dict[str, dict[str, Any]] = {}
    for name, plan in plans.items():

        def read(plan: ReadPlan = plan, cold: bool = False) -> pa.Table:
            if cold:
                _MEMO.clear()  # a first read: every distinct value is pseudonymized afresh
            return apply_plan(pq.read_table(pa.BufferReader(snapshot)), plan, SECRET)

        median, runs = median_time(read, REPEAT)
        cold_median, _ = median_time(partial(read, cold=True), REPEAT)
        timings[name] = {"median_s": median, "cold_median_s": cold_median, "runs": runs, "rows_per_s": n / median}
    base = timings["owner (baseline)"]["median_s"]
    sql = _through_duckdb(table, plans)
    port = through_sql_port(min(n, SQL_PORT_ROWS), REPEAT)
    # Sealing at rest: 100k values of 10k subjects (per-subject grouping, per-value AES-GCM).
    sample = table.slice(0, 100_000)
    keys = {s: bytes(32) for s in set(sample.column("user_id").to_pylist())}
    seal_s, _ = median_time(lambda: encrypt_column(sample.column("email"), sample.column("user_id"), keys, "email"), 3)
    sealed = encrypt_column(sample.column("email"), sample.column("user_id"), keys, "email")
    open_s, _ = median_time(lambda: decrypt_column(sealed, sample.column("user_id"), keys, "email", pa.string()), 3)
    headline = [
        (
            name,
            f"{t['median_s'] * 1000:.0f} ms = {t['median_s'] / base:.2f}× (cold {t['cold_median_s'] / base:.2f}×)",
        )
        for name, t in timings.items()
    ]
    headline += [
        (f"DuckDB {q}: {name.split(':')[0]}", f"{t['ratio']:.2f}×")
        for q, per_plan in sql.items()
        for name, t in per_plan.items()
        if not name.startswith("owner")
    ]
    headline += [
        (f"SQL port {q}: {role} vs owner ({port['rows']} rows)", f"{t['ratio']:.2f}×")
        for q, per_token in port["timings"].items()
        for role, t in per_token.items()
        if role != "owner"
    ]
    headline += [("seal / open 100k restricted values", f"{seal_s * 1000:.0f} / {open_s * 1000:.0f} ms")]
    return Result(
        "governance-masking",
        "masked read ≤ 1.15× unmasked through the SQL port (this is the library share)",
        headline=headline,
        data={
            "rows": n,
            "plans": timings,
            "ratio_to_baseline": {k: v["median_s"] / base for k, v in timings.items()},
            "cold_ratio_to_baseline": {k: v["cold_median_s"] / base for k, v in timings.items()},
            "duckdb": sql,
            "sql_port": port,
            "seal_100k_s": seal_s,
            "open_100k_s": open_s,
        },
    )


SQL_QUERIES = {
    "select *": "SELECT * FROM v",
    "group by": "SELECT region, count(*) AS n, avg(minutes) AS m FROM v GROUP BY region",
}


def _fetch(con: duckdb.DuckDBPyConnection, text: str) -> pa.Table:
    return con.sql(text).to_arrow_table()


def _through_duckdb(table: pa.Table, plans: dict[str, ReadPlan]) -> dict[str, dict[str, dict[str, float]]]:
    """The same plans as the SQL port would run them: the masked view as a CTE under the user's query."""
    con = duckdb.connect()
    con.create_function(PSEUDONYMIZE_UDF, pseudonymize_udf(SECRET), [VARCHAR, VARCHAR], VARCHAR, type=ARROW)
    con.create_function(TOKENIZE_UDF, tokenize_udf(SECRET), [VARCHAR, VARCHAR], VARCHAR, type=ARROW)
    con.register("daily", table)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for label, query in SQL_QUERIES.items():
        out[label] = {}
        for name, plan in plans.items():
            view = sql_projection(plan, table.schema).query('"daily"')
            text = f"WITH v AS ({view}) {query}"
            median, _ = median_time(partial(_fetch, con, text), REPEAT)
            out[label][name] = {"median_s": median}
        base = out[label]["owner (baseline)"]["median_s"]
        for timing in out[label].values():
            timing["ratio"] = timing["median_s"] / base
    con.close()
    return out


if __name__ == "__main__":
    outcome = run(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
    outcome.write()
    show([outcome])
