"""``hexmesh search``: search the mesh from the terminal, locally or through a node."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from hexmesh.cli import common
from hexmesh.cli.render import console
from hexmesh.infra.settings import NODE_ENV, TOKEN_ENV

__all__ = ["search"]

_SLO = {"met": "[green]met[/]", "at-risk": "[yellow]at risk[/]", "breached": "[red]breached[/]"}


def search(
    query: Annotated[str, typer.Argument(help='Words, "phrases" and filters, e.g. "listener domain:podcasts".')] = "",
    node: Annotated[
        str | None,
        typer.Option("--node", envvar=NODE_ENV, help="Search through this node (http://host:port)."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", envvar=TOKEN_ENV, help="Your API token, for --node (else: what anyone may see)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="Results to show.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON.")] = False,
    semantic: Annotated[
        bool,
        typer.Option("--semantic", help="Rank by meaning and keywords together (needs the semantic extra)."),
    ] = False,
    home: common.Home = None,
) -> None:
    """Search data products: this workspace and the peers its node has cached, or a node's index."""
    from hexmesh.mesh import SearchIndex, entry_from_spec
    from hexmesh.mesh.federation import cached_registry, search_node
    from hexmesh.mesh.semantic import Embeddings
    from hexmesh.mesh.semantic import search as semantic_search

    with common.errors():
        if node:
            result = search_node(node, query, limit=limit, mode="semantic" if semantic else "keyword", token=token)
        else:
            ws = common.workspace(home)
            local = [entry_from_spec(p.spec, docs=_docs(p.bundle, p.spec.docs)) for p in ws.deployed().values()]
            mesh = ws.settings.home / "mesh"
            index = SearchIndex(cached_registry(mesh / "registry.json", local))
            if semantic:
                embeddings = Embeddings(cache=mesh / "embeddings.npz")
                result = semantic_search(index, embeddings, query, mode="hybrid", limit=limit).to_dict()
            else:
                result = index.search(query, limit=limit).to_dict()
    if as_json:
        console.print_json(json.dumps(result))
        return
    _show(result)


def _docs(bundle: Any, docs: str | None) -> str:
    from hexmesh.spec import inside

    path = inside(bundle, docs)
    return str(path.read_text(encoding="utf-8")) if path is not None and path.is_file() else ""


def _show(result: dict[str, Any]) -> None:
    if result.get("notice"):
        console.print(f"[yellow]{result['notice']}[/]", highlight=False)
    for word, fixes in result.get("corrections", {}).items():
        console.print(f"[dim]showing matches for[/] {word} → [bold]{', '.join(fixes)}[/]", highlight=False)
    if result.get("relaxed"):
        console.print("[dim]no product matched every word; these match some of them[/]")
    view = Table(header_style="bold cyan", title=f"{result['total']} product(s)", title_justify="left")
    for column in ("product", "version", "status", "SLO", "owner", "description"):
        view.add_column(column, overflow="fold")
    for hit in result["hits"]:
        entry = hit["entry"]
        stale = " [yellow](stale)[/]" if entry.get("stale") else ""
        view.add_row(
            f"[bold]{hit['key']}[/]{stale}",
            entry["version"],
            entry["status"],
            _SLO.get(entry["sloStatus"], "[dim]unknown[/]"),
            entry["owner"],
            entry["description"][:80],
        )
    console.print(view if result["hits"] else f"nothing matches {result['query']!r}")
    facets = result.get("facets", {}).get("domain", {})
    if facets:
        console.print("[dim]domains:[/] " + ", ".join(f"{k} ({v})" for k, v in sorted(facets.items())))
