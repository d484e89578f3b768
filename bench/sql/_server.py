"""``python -m bench.sql._server HOME PORT``: the SQL port of a workspace, in its own process.

The benchmark's clients run in another process so that they do not share a GIL with the server.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from hexmesh.lifecycle import Workspace
from hexmesh.product.sql import SqlPortConfig, start_sql_port


async def main(home: Path, port: int) -> None:
    workspace = Workspace.open(home)
    config = SqlPortConfig(max_connections=100, max_result_rows=None, statement_timeout=None)
    server = await start_sql_port(workspace, "127.0.0.1", port, config=config)
    print("ready", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2])))
