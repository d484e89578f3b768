"""Names from other standards made into hexmesh names (domains, products, ports, fields)."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["field_name", "port_name", "product_name", "unique_name"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _words(text: str) -> list[str]:
    spaced = _CAMEL.sub(" ", str(text).strip())
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced) if w]


def product_name(text: str) -> str:
    """``Customer Data Product`` → ``customer-data-product``; ``tripExecution`` → ``trip-execution``."""
    name = "-".join(w.lower() for w in _words(text)) or "product"
    if not name[0].isalpha():
        name = "p-" + name
    return name[:63].rstrip("-")


def port_name(text: str) -> str:
    """``Air_Quality`` → ``air_quality``; ``processed-data`` → ``processed_data``."""
    name = "_".join(w.lower() for w in _words(text)) or "port"
    if name[0].isdigit():
        name = "_" + name
    return name[:63]


def field_name(text: str) -> str:
    """A SQL identifier keeping the original case: ``order-id`` → ``order_id``."""
    name = re.sub(r"[^A-Za-z0-9_]+", "_", str(text).strip()).strip("_") or "field"
    if name[0].isdigit():
        name = "_" + name
    return name[:63]


def unique_name(name: str, taken: Iterable[str], separator: str = "_") -> str:
    """``name``, or ``name_2``, ``name_3``… when it is taken."""
    used = set(taken)
    if name not in used:
        return name
    n = 2
    while f"{name}{separator}{n}" in used:
        n += 1
    return f"{name}{separator}{n}"
