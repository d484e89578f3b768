"""``python -m bench.sql._server HOME PORT [masked|country] [name=value …]``: the SQL port of a workspace.

The benchmark's clients run in another process so that they do not share a GIL with the server.
``masked`` serves every table through a policy that masks a column and filters rows, as a
governed node serves an analyst (the SQL form a policy sidecar gives: masks and a row filter);
``country`` masks the same column and keeps one country's rows, as play-events' country-managers
rule does (the row filter hexmesh writes for ``rows: {country: principal.country}``).
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from hexmesh.lifecycle import Workspace
from hexmesh.product.sql import PolicyDecision, QueryRequest, SqlPortConfig, TableRewrite, start_sql_port


class MaskedAndFiltered:
    """Pseudonym-like mask of the listener and a row filter (default: one that keeps every row)."""

    def __init__(self, row_filter: str = "country <> 'XX'") -> None:
        self.row_filter = row_filter

    def decide(self, request: QueryRequest) -> PolicyDecision:
        rewrite = TableRewrite(transform={"listener_id": "md5(listener_id)"}, row_filter=self.row_filter)
        return PolicyDecision(rewrites={a.table.qualified: rewrite for a in request.tables})


POLICIES = {"masked": MaskedAndFiltered(), "country": MaskedAndFiltered("(\"country\" IN ('DE'))")}


async def main(home: Path, port: int, mode: str | None, changes: dict[str, float]) -> None:
    workspace = Workspace.open(home)
    config = SqlPortConfig(
        max_connections=100, max_result_rows=None, statement_timeout=None, statements_per_principal=0
    )
    overrides: dict[str, Any] = {k: int(v) if v.is_integer() else v for k, v in changes.items()}
    config = replace(config, **overrides)
    policy = POLICIES[mode] if mode else None
    server = await start_sql_port(workspace, "127.0.0.1", port, config=config, policy=policy)
    print("ready", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    options = sys.argv[3:]
    pairs = dict(option.split("=", 1) for option in options if "=" in option)  # SqlPortConfig fields
    mode = next((option for option in options if option in POLICIES), None)
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]), mode, {k: float(v) for k, v in pairs.items()}))
