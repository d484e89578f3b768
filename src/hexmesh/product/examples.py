"""The results of a product's README examples, as its last deploy ran them (one JSON file per product).

Kept beside the workspace's state (``<home>/examples/<domain>/<name>.json``), written by
:mod:`hexmesh.lifecycle.examples` at deploy and read by the discovery document.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["ExampleResult", "load_results", "results_stamp", "save_results"]


@dataclass(frozen=True)
class ExampleResult:
    """One example as run: ``status`` is passed, failed or not-run; ``detail`` says why or how many rows."""

    line: int
    language: str
    status: str
    detail: str = ""


def _file(home: Path, key: str) -> Path:
    return home / "examples" / f"{key}.json"


def save_results(home: Path, key: str, version: str, results: list[ExampleResult]) -> None:
    path = _file(home, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"version": version, "results": [asdict(r) for r in results]}))
    os.replace(temporary, path)  # a reader never sees half a file


def load_results(home: Path, key: str, version: str) -> list[ExampleResult] | None:
    """The results of ``version``'s examples; None when they were not run for this version."""
    try:
        found = json.loads(_file(home, key).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(found, dict) or found.get("version") != version:
        return None
    return [ExampleResult(**r) for r in found.get("results", []) if isinstance(r, dict)]


def results_stamp(home: Path, key: str) -> int | None:
    """When the results of ``key`` were last written (ns), for caches of documents that show them."""
    try:
        return _file(home, key).stat().st_mtime_ns
    except OSError:
        return None
