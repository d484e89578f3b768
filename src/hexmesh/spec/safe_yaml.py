"""YAML that a small input can never make large: bounded nesting and bounded alias expansion.

PyYAML's safe loader builds no objects of its own, but it still lets a document of a few hundred
bytes describe a billion nodes through aliases ("billion laughs": ``a: &a [x, x]``, ``b: &b
[*a, *a]``, …), and it composes nested collections recursively, so a few thousand ``[`` end in a
``RecursionError``. Everything that walks the result (marks, pydantic, JSON) then pays for every
expanded node. Every YAML reader of hexmesh (specs, governance rules and policies, settings,
tokens, control-port bodies) goes through :func:`compose` or :func:`load`, which refuse, at a
position, a document nesting deeper than :data:`MAX_DEPTH` or whose aliases would add more than
:data:`MAX_ALIAS_NODES` nodes; documents without aliases are never limited by size here (their
size is the input's: bound it where it is read, e.g. the HTTP body limit).
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["MAX_ALIAS_NODES", "MAX_DEPTH", "YAMLLimitError", "compose", "load", "safe_loader"]

#: Deepest nesting of collections accepted (a spec nests about 8 deep).
MAX_DEPTH = 64
#: Most nodes that aliases may add to a document once expanded (merge keys included).
MAX_ALIAS_NODES = 10_000


class YAMLLimitError(yaml.MarkedYAMLError):
    """A document nests too deeply or its aliases expand too far; it carries the position."""


class _Bounded(yaml.SafeLoader):
    """Safe YAML with a nesting limit while composing (PyYAML composes recursively)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        #: Where each alias is used: the first one locates an expansion error.
        self.aliases: list[Any] = []

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            self.aliases.append(event.start_mark)
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise YAMLLimitError(
                    None,
                    None,
                    f"the document nests deeper than {MAX_DEPTH} levels; flatten it",
                    event.start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def safe_loader(base: type[yaml.SafeLoader] = yaml.SafeLoader) -> type[_Bounded]:
    """A bounded loader class built on ``base`` (a SafeLoader subclass with its own resolvers)."""
    if issubclass(base, _Bounded):
        return base
    found = _CLASSES.get(base)
    if found is None:
        found = _CLASSES[base] = type(f"Bounded{base.__name__}", (_Bounded, base), {})
    return found


_CLASSES: dict[type[yaml.SafeLoader], type[_Bounded]] = {}


_DEFAULT = safe_loader()


def compose(text: str, loader: type[yaml.SafeLoader] = _DEFAULT) -> yaml.Node | None:
    """The node graph of ``text``, refused with :class:`YAMLLimitError` if it would grow too large."""
    instance = safe_loader(loader)(text)
    try:
        node = instance.get_single_node()
    finally:
        instance.dispose()
    if node is not None and instance.aliases:
        _check_expansion(node, instance.aliases[0])
    return node


def load(text: str, loader: type[yaml.SafeLoader] = _DEFAULT) -> Any:
    """Python data of ``text`` (safe tags only), within the same limits as :func:`compose`."""
    return construct(compose(text, loader), loader)


def construct(node: yaml.Node | None, loader: type[yaml.SafeLoader] = _DEFAULT) -> Any:
    """Python data of an already composed (and checked) node."""
    if node is None:
        return None
    instance = safe_loader(loader)("")
    try:
        return instance.construct_document(node)
    finally:
        instance.dispose()


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expansion(root: yaml.Node, first_alias: Any) -> None:
    """Count the nodes and depth of the document with every alias expanded, without expanding it.

    One pass over the distinct nodes (post-order, iterative): a node's expanded size is one plus
    its children's, however many times an alias repeats it.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    visiting: set[int] = set()
    distinct = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            children = _children(node)
            size[key] = 1 + sum(size[id(c)] for c in children)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            visiting.discard(key)
            continue
        if key in size:
            continue
        if key in visiting:
            raise YAMLLimitError(None, None, "an alias refers to a collection that contains it", first_alias)
        visiting.add(key)
        distinct += 1
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in size)
    added = size[id(root)] - distinct
    if added > MAX_ALIAS_NODES:
        raise YAMLLimitError(
            None,
            None,
            f"aliases expand this document by {added:,} nodes (at most {MAX_ALIAS_NODES:,} are accepted); "
            "write the repeated parts out or use fewer aliases",
            first_alias,
        )
    if depth[id(root)] > MAX_DEPTH:
        raise YAMLLimitError(
            None,
            None,
            f"with its aliases expanded the document nests {depth[id(root)]} levels (at most {MAX_DEPTH})",
            first_alias,
        )
