"""A layered (Sugiyama-style) layout of a lineage graph, for drawing it left to right.

Each product goes in the layer after its deepest upstream product; within a layer, products
are ordered by the average position of their upstream products, so edges cross less.
Cycles cannot happen in a valid mesh, but a bad peer could announce one: they are cut.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Layout", "layered"]


@dataclass(frozen=True)
class Layout:
    """``position[key] = (layer, row)``; ``layers[i]`` lists the keys of layer ``i`` in order."""

    position: dict[str, tuple[int, int]]
    layers: list[list[str]]
    edges: list[tuple[str, str]]

    @property
    def height(self) -> int:
        return max((len(layer) for layer in self.layers), default=0)


def layered(nodes: Iterable[str], edges: Iterable[tuple[str, str]], *, sweeps: int = 2) -> Layout:
    """Lay out ``nodes`` with ``edges`` (upstream, downstream); unknown endpoints are added."""
    keys = list(dict.fromkeys(nodes))
    pairs = [(a, b) for a, b in dict.fromkeys(edges) if a != b]
    for a, b in pairs:
        keys += [k for k in (a, b) if k not in keys]
    ups: dict[str, list[str]] = defaultdict(list)
    for a, b in pairs:
        ups[b].append(a)
    depth: dict[str, int] = {}

    def level(key: str, path: frozenset[str]) -> int:
        if key not in depth:
            parents = [u for u in ups[key] if u not in path]  # cut a cycle where it closes
            depth[key] = 1 + max((level(u, path | {key}) for u in parents), default=-1)
        return depth[key]

    for key in sorted(keys):
        level(key, frozenset())
    layers: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for key in sorted(keys):
        layers[depth[key]].append(key)
    downs: dict[str, list[str]] = defaultdict(list)
    for a, b in pairs:
        downs[a].append(b)
    for _ in range(sweeps):
        for i in range(1, len(layers)):
            _order(layers[i], layers[i - 1], ups)
        for i in range(len(layers) - 2, -1, -1):
            _order(layers[i], layers[i + 1], downs)
    position = {key: (i, j) for i, layer in enumerate(layers) for j, key in enumerate(layer)}
    kept = [(a, b) for a, b in pairs if position[a][0] < position[b][0]]
    return Layout(position, layers, kept)


def _order(layer: list[str], fixed: list[str], neighbours: dict[str, list[str]]) -> None:
    """Sort ``layer`` in place by the mean row of each key's neighbours in ``fixed``."""
    rows = {key: i for i, key in enumerate(fixed)}

    def centre(item: tuple[int, str]) -> tuple[float, int]:
        index, key = item
        found = [rows[n] for n in neighbours.get(key, []) if n in rows]
        return (sum(found) / len(found) if found else float(index), index)

    layer[:] = [key for _, key in sorted(enumerate(layer), key=centre)]
