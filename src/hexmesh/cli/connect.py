"""``hexmesh connect``: how to read a port from psql, psycopg, pandas, Spark, curl, Python, JDBC, ODBC.

The snippets are the web UI's (:mod:`hexmesh.mesh.snippets`), made from the port's discovery
document as the node serves it to you: what you print here is what the product page shows.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from hexmesh.cli import common
from hexmesh.cli.render import console
from hexmesh.infra.settings import NODE_ENV, TOKEN_ENV

__all__ = ["connect"]


def connect(
    address: Annotated[str, typer.Argument(help="A port (dp://domain/product/port) or a product (all its ports).")],
    node: Annotated[
        str,
        typer.Option("--node", envvar=NODE_ENV, help="The node that serves the product (http://host:port)."),
    ] = "http://127.0.0.1:8080",
    token: Annotated[
        str | None,
        typer.Option("--token", envvar=TOKEN_ENV, help="Your API token: the node shows the ports you may discover."),
    ] = None,
    purpose: Annotated[str, typer.Option(help="State this purpose in every snippet (your grant names one).")] = "",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print [{port, readable, snippets: [{id, label, language, code}]}].")
    ] = False,
) -> None:
    """Print the snippets that connect to a port; each reads your token from $HEXMESH_TOKEN."""
    from hexmesh.client import Node
    from hexmesh.errors import NotFoundError
    from hexmesh.mesh import port_access, snippets
    from hexmesh.spec import parse_address

    with common.errors():
        where = parse_address(address)
        key = f"{where.product_key}@{where.major}" if where.major is not None else where.product_key
        with Node(node, token=token) as client:
            document = client.product(key).describe()
        datasets = [d for d in document.get("dcat:servesDataset") or [] if isinstance(d, dict)]
        if where.port is not None:
            names = [str(d.get("dct:title")) for d in datasets]
            datasets = [d for d in datasets if d.get("dct:title") == where.port]
            if not datasets:
                shown = ", ".join(names) or "none you may discover"
                raise NotFoundError(f"{where.product_key} has no output port {where.port!r}; its ports are {shown}")
        found: list[dict[str, Any]] = []
        for dataset in datasets:
            access = port_access(dataset)
            found.append(
                {
                    "port": access.address or f"dp://{key}/{access.port}",
                    "readable": access.readable,
                    "snippets": [s.__dict__ for s in snippets(access, purpose=purpose)],
                }
            )
    if as_json:
        console.print_json(json.dumps(found))
        return
    for port in found:
        console.print(f"[bold]{port['port']}[/]", highlight=False)
        if not port["readable"]:
            ask = f"  you may not read this port yet: hexmesh access request {port['port']} --purpose …"
            console.print(ask, highlight=False, markup=False, soft_wrap=True)
        elif not port["snippets"]:
            console.print("  (the node offers no way to connect to this port)")
        for snippet in port["snippets"]:
            console.print(f"\n[cyan]# {snippet['label']}[/]", highlight=False)
            console.print(snippet["code"], highlight=False, markup=False, soft_wrap=True)
        console.print()
