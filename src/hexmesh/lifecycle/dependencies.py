"""The dependency graph of products, from their input ports: order, cycles, dependents."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from hexmesh.spec import DataProductSpec, parse_address

__all__ = ["find_cycle", "topological_order", "upstreams"]


def upstreams(spec: DataProductSpec) -> list[str]:
    """Product keys this product reads from, in input-port order."""
    keys = []
    for port in spec.input_ports:
        if port.from_ is not None:
            try:
                key = parse_address(port.from_).product_key
            except ValueError:
                continue
            if key not in keys:
                keys.append(key)
    return keys


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A cycle as a path ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def topological_order(graph: Mapping[str, Iterable[str]]) -> list[str]:
    """Keys ordered so every product comes after its upstreams (the graph must be acyclic)."""
    order: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> None:
        if node in done:
            return
        done.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt in graph:
                visit(nxt)
        order.append(node)

    for node in sorted(graph):
        visit(node)
    return order
