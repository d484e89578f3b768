"""A node's HTTP app without its lifespan (no event emitter), for benchmarks of the other ports.

Run: ``python -m bench.node._http_only HOME PORT``.
"""

from __future__ import annotations

import sys

import uvicorn

from hexmesh.lifecycle import Workspace
from hexmesh.server.app import create_app
from hexmesh.serving import Node, NodeOptions


def main(home: str, port: int) -> None:
    with Workspace.open(home) as workspace:
        node = Node(workspace, NodeOptions(base_url=f"http://127.0.0.1:{port}", auth=False))
        # lifespan off: the emitter never starts, so serving files is all the node does.
        uvicorn.run(create_app(node), host="127.0.0.1", port=port, log_level="warning", lifespan="off")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
