"""The results of a product's README examples, as the deploy of a version ran them.

Kept in the runtime's object storage (ADR 0030), one JSON object per product version
(``examples/<domain>/<name>/<version>.json``), so every node of a cluster sees what the node that
deployed wrote. Written by :mod:`hexmesh.lifecycle.examples` once per version (a deploy that
changes nothing runs nothing), read by the discovery document.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from hexmesh.infra.storage import ObjectStore, StorageError

__all__ = ["ExampleResult", "load_results", "results_written", "save_results"]


@dataclass(frozen=True)
class ExampleResult:
    """One example as run: ``status`` is passed, failed or not-run; ``detail`` says why or how many rows."""

    line: int
    language: str
    status: str
    detail: str = ""


def _object(key: str, version: str) -> str:
    return f"examples/{key}/{version}.json"


def save_results(store: ObjectStore, key: str, version: str, results: list[ExampleResult]) -> None:
    """Keep ``version``'s results (a whole-object write: a reader never sees half of it)."""
    store.put(_object(key, version), json.dumps({"results": [asdict(r) for r in results]}).encode())


def load_results(store: ObjectStore, key: str, version: str) -> list[ExampleResult] | None:
    """The results of ``version``'s examples; None when they were not (or not yet) run for it."""
    try:
        found = json.loads(store.get(_object(key, version)))
    except (StorageError, ValueError):
        return None
    if not isinstance(found, dict):
        return None
    return [ExampleResult(**r) for r in found.get("results", []) if isinstance(r, dict)]


def results_written(store: ObjectStore, key: str, version: str) -> bool:
    """Whether ``version``'s results exist: once true it stays true (a version's examples run once)."""
    try:
        return store.exists(_object(key, version))
    except StorageError:
        return False
