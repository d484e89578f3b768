"""A package's names imported when first used (PEP 562), so a command imports only what it calls.

`hexmesh list` needs no engine: a package lists where each of its names lives, and the module
holding a name is imported the first time someone reads it (docs/adr/0011, STYLE.md 15).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """The module-level ``__getattr__`` of ``package``: each name of ``where`` read from its module once."""

    def attribute(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # later reads find it without this hook
        return value

    return attribute
