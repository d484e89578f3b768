"""Facet values of every indexed product as integer codes, counted with numpy."""

from __future__ import annotations

from typing import Any

import numpy as np

from hexmesh.mesh.entries import ProductEntry

__all__ = ["Facet", "Mask", "facet_values"]

Mask = np.ndarray[Any, np.dtype[np.bool_]]


def facet_values(entry: ProductEntry, facet: str) -> tuple[str, ...]:
    """The values ``entry`` has for ``facet`` (several for tags and classifications)."""
    match facet:
        case "domain":
            return (entry.domain,)
        case "owner":
            return (entry.owner.lower(),)
        case "tag":
            return tuple({t.lower() for t in entry.tags})
        case "status":
            return (entry.status,)
        case "slo":
            return (entry.slo_status,)
    return entry.classifications


class Facet:
    """(row, value code) pairs of one facet; rebuilt when the index changes."""

    def __init__(self, rows: list[ProductEntry | None], facet: str) -> None:
        codes: dict[str, int] = {}
        pair_rows: list[int] = []
        pair_codes: list[int] = []
        for row, entry in enumerate(rows):
            for value in facet_values(entry, facet) if entry is not None else ():
                pair_rows.append(row)
                pair_codes.append(codes.setdefault(value, len(codes)))
        self.names = list(codes)
        self.codes = codes
        self.rows = np.asarray(pair_rows, dtype=np.int64)
        self.values = np.asarray(pair_codes, dtype=np.int64)

    def mask(self, wanted: set[str], size: int) -> Mask:
        """Rows having any of ``wanted``."""
        codes = [self.codes[v] for v in wanted if v in self.codes]
        out = np.zeros(size, dtype=bool)
        out[self.rows[np.isin(self.values, codes)]] = True
        return out

    def counts(self, rows: Mask) -> dict[str, int]:
        """How many of ``rows`` have each value, most first."""
        counted = np.bincount(self.values[rows[self.rows]], minlength=len(self.names))
        pairs = sorted(
            ((int(n), self.names[i]) for i, n in enumerate(counted) if n),
            key=lambda p: (-p[0], p[1]),
        )
        return {name: n for n, name in pairs}
