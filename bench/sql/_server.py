"""``python -m bench.sql._server HOME PORT [masked] [name=value …]``: the SQL port of a workspace, in its own process.

The benchmark's clients run in another process so that they do not share a GIL with the server.
``masked`` serves every table through a policy that masks a column and filters rows, as a
governed node serves an analyst (the SQL form a policy sidecar gives: masks and a row filter).
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
    """Pseudonym-like mask of the listener and a row filter that keeps (almost) every row."""

    def decide(self, request: QueryRequest) -> PolicyDecision:
        rewrite = TableRewrite(transform={"listener_id": "md5(listener_id)"}, row_filter="country <> 'XX'")
        return PolicyDecision(rewrites={a.table.qualified: rewrite for a in request.tables})


async def main(home: Path, port: int, masked: bool, changes: dict[str, float]) -> None:
    workspace = Workspace.open(home)
    config = SqlPortConfig(
        max_connections=100, max_result_rows=None, statement_timeout=None, statements_per_principal=0
    )
    overrides: dict[str, Any] = {k: int(v) if v.is_integer() else v for k, v in changes.items()}
    config = replace(config, **overrides)
    policy = MaskedAndFiltered() if masked else None
    server = await start_sql_port(workspace, "127.0.0.1", port, config=config, policy=policy)
    print("ready", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    options = sys.argv[3:]
    pairs = dict(option.split("=", 1) for option in options if "=" in option)  # SqlPortConfig fields
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]), "masked" in options, {k: float(v) for k, v in pairs.items()}))
