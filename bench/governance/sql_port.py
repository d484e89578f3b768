"""Masking through the SQL port: the same queries with a masked, row-filtered token and an unrestricted one.

A real workspace (the policy tests' ``sales/orders`` product at ``n`` rows), the governed SQL port
over TLS, and psycopg clients. Baseline in the same run: the owner's token (no masking, no
filter). Masked: ``regional`` (row filter on region, ``customer`` pseudonymized, ``margin``
hidden) and ``analyst`` (``customer`` pseudonymized, ``amount`` generalized, ``margin`` hidden).
Each query runs ``repeat`` times per token after a warm-up; the median is reported (and the
first run, which for a masked token includes materializing its view of the snapshot).
"""

from __future__ import annotations

import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv

from bench.report import median_time
from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
from hexmesh.product.policy import PolicySidecar, SqlPolicy, tokens
from hexmesh.product.sql import start_sql_port
from hexmesh.product.sql.auth import TokenAuthenticator
from tests.product.policy.conftest import PRINCIPALS, SECRET, SPEC, SQL, _tls
from tests.product.sql.conftest import Loop, write_product

__all__ = ["QUERIES", "through_sql_port"]

TABLE = "sales.orders__orders"
QUERIES = {
    "aggregate": f"SELECT region, count(*) AS n, count(DISTINCT customer) AS customers FROM {TABLE} GROUP BY region",
    "aggregate (no masked column)": f"SELECT region, count(*) AS n FROM {TABLE} GROUP BY region",
    "scan": f"SELECT * FROM {TABLE}",
}
TOKENS = ("owner", "regional", "analyst")


def _rows(n: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    days = np.datetime64("2026-01-01T10:00:00") + rng.integers(0, 365 * 24, n).astype("timedelta64[h]")
    return pa.table(
        {
            "order_id": pa.array(np.arange(1, n + 1)),
            "customer": pa.array(np.char.add("cust", rng.integers(0, max(1, n // 10), n).astype(str))),
            "region": pa.array(np.array(["EU", "US", "APAC"])[rng.integers(0, 3, n)]),
            "ordered_at": pa.array(days.astype(str)),
            "amount": pa.array(np.round(rng.exponential(50, n), 2)),
            "margin": pa.array(np.round(rng.uniform(0, 20, n), 2)),
        }
    )


def _fetch(con: psycopg.Connection[Any], sql: str) -> int:
    return len(con.execute(sql).fetchall())


def through_sql_port(n: int, repeat: int = 5) -> dict[str, Any]:
    """Median seconds per query and token, and each masked token's ratio to the owner's."""
    loop = Loop()
    with tempfile.TemporaryDirectory(prefix="hexmesh-bench-sql-") as tmp:
        root = Path(tmp)
        folder = write_product(root / "orders", SPEC, SQL, "")
        pacsv.write_csv(_rows(n), folder / "data" / "day1.csv")
        workspace = Workspace(Settings.defaults(root / "ws"))
        try:
            workspace.deploy([folder])
            workspace.run("sales/orders")
            sidecar = PolicySidecar(workspace.runtime, secret=SECRET)
            server = loop.run(
                start_sql_port(
                    workspace,
                    "127.0.0.1",
                    0,
                    TokenAuthenticator(sidecar),
                    policy=SqlPolicy(sidecar),
                    ssl_context=_tls(root),
                )
            )
            try:
                made = {role: tokens.create_token(sidecar.db, PRINCIPALS[role])[0] for role in TOKENS}
                dsns = {
                    role: f"host=127.0.0.1 port={server.port} user={role} dbname=mesh sslmode=require password={t}"
                    for role, t in made.items()
                }
                # One session per token, as a BI tool keeps it: the timings are the queries, not TLS and auth.
                sessions = {role: psycopg.connect(dsn, autocommit=True) for role, dsn in dsns.items()}
                out: dict[str, Any] = {"rows": n, "repeat": repeat, "queries": QUERIES, "timings": {}}
                try:
                    for label, sql in QUERIES.items():
                        per_token: dict[str, dict[str, Any]] = {}
                        for role, con in sessions.items():
                            # The first query of a snapshot pays for materializing a keyed (pseudonymized) view.
                            started = time.perf_counter()
                            rows = _fetch(con, sql)
                            first = time.perf_counter() - started
                            median, runs = median_time(partial(_fetch, con, sql), repeat)
                            per_token[role] = {"median_s": median, "runs": runs, "first_s": first, "result_rows": rows}
                        base = per_token["owner"]["median_s"]
                        for timing in per_token.values():
                            timing["ratio"] = timing["median_s"] / base
                        out["timings"][label] = per_token
                finally:
                    for con in sessions.values():
                        con.close()
                return out
            finally:
                loop.run(server.close())
        finally:
            workspace.close()
            loop.stop()
