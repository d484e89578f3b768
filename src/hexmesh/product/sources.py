"""Operational sources: CSV, Parquet and JSON-lines files, or folders of them."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pyarrow as pa

from hexmesh.errors import InputError
from hexmesh.infra.settings import TOKEN_ENV, settings_fields
from hexmesh.product.parsing import parse_file
from hexmesh.spec import Confinement, SourceSpec, parse_duration

__all__ = [
    "SUFFIXES",
    "SourceBatch",
    "expand_vars",
    "list_files",
    "read_file",
    "read_source",
    "resolve_path",
    "secret_variables",
    "variables_in",
]

#: A file source's format → the file names it reads.
SUFFIXES = {
    "csv": (".csv", ".csv.gz"),
    "parquet": (".parquet", ".pq"),
    "json": (".json", ".jsonl", ".ndjson"),
}
_VAR_HEAD = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


@dataclass
class SourceBatch:
    """What a source read returned: the rows, and the files they came from (relative paths)."""

    table: pa.Table | None
    files: list[str]
    #: name → [size, mtime_ns] of each file read: a rewritten file changes its stamp.
    stamps: dict[str, list[int]] = field(default_factory=dict)


@cache
def secret_variables() -> frozenset[str]:
    """The variables the node reads its own secrets from (keys, tokens, passwords), by its settings."""
    names = {TOKEN_ENV}
    for item in settings_fields():
        # The node's own stores too: their URLs may carry a password, and a product reading the
        # node's state or catalog would read what the node keeps of every product.
        if item.metadata["secret"] or item.name in _NODE_STORES:
            names |= {item.metadata["env"], *item.metadata["fallback"]}
    return frozenset(names)


#: Settings naming the node's own stores (not secret: ``hexmesh settings`` shows them).
_NODE_STORES = frozenset({"state_url", "catalog_url"})


def variables_in(text: str) -> list[str]:
    """The names of the ``${VAR}`` a path or URL uses (defaults included)."""
    return _VAR_HEAD.findall(text)


def expand_vars(text: str, what: str = "source path") -> str:
    """Expand ``${VAR}`` / ``${VAR:-default}`` from the environment; a default may itself use ``${VAR}``.

    A default is only expanded when its variable is unset, and a variable's value is used as it is
    (never expanded again).
    """
    value, _ = _expand(text, 0, what, inside=False, used=True)
    return value


def _expand(text: str, start: int, what: str, *, inside: bool, used: bool) -> tuple[str, int]:
    """Expand from ``start`` up to the end (``inside`` a default: up to its closing brace).

    ``used`` is False while skipping the default of a variable that is set: unset variables in it are no error.
    """
    out: list[str] = []
    i = start
    while i < len(text):
        if inside and text[i] == "}":
            return "".join(out), i + 1
        match = _VAR_HEAD.match(text, i)
        if match is None:
            out.append(text[i])
            i += 1
            continue
        name, i = match.group(1), match.end()
        if name in secret_variables():  # it would land in paths, URLs and their error messages
            raise InputError(
                f"{what} {text!r} uses ${{{name}}}, which holds one of the node's secrets; a product may not "
                "read the node's settings: use a variable of your own"
            )
        value = os.environ.get(name)
        if text.startswith(":-", i):
            default, i = _expand(text, i + 2, what, inside=True, used=used and value is None)
            value = default if value is None else value
        elif text.startswith("}", i):
            i += 1
        else:
            out.append(match.group(0))
            continue
        if value is None and used:
            raise InputError(
                f"{what} {text!r} uses ${{{name}}}, which is not set; "
                "set the environment variable or give a default with ${VAR:-default}"
            )
        out.append(value or "")
    if inside:
        raise InputError(f"{what} {text!r} has a ${{VAR:-default}} without its closing brace; add the '}}'")
    return "".join(out), i


def resolve_path(text: str, origin: Path, confinement: Confinement | None = None) -> Path:
    """Expand ``${VAR}`` / ``${VAR:-default}`` and resolve a relative path against ``origin``.

    Raises:
        InputError: the path leads outside ``origin`` and the node's source roots (``confinement``).
    """
    path = Path(expand_vars(text)).expanduser()
    reason = (confinement or Confinement(origin)).escape(str(path), roots=True)
    if reason:
        raise InputError(
            f"source path {text!r} {reason}; nothing was read. Keep the files in the product folder or "
            "under a folder of the node's source_roots setting (HEXMESH_SOURCE_ROOTS)"
        )
    return path if path.is_absolute() else origin / path


def list_files(root: Path, spec: SourceSpec, confinement: Confinement | None = None) -> list[Path]:
    """Data files of a source, oldest name first; hidden (``.x``, ``_x``) and settling files excluded.

    Writers should land a file under a hidden or temporary name and rename it when complete;
    ``settle`` also leaves out files modified too recently to be complete.
    """
    if root.is_file():
        return [root]  # resolve_path checked it
    if not root.is_dir():
        raise InputError(
            f"source {spec.path!r} resolves to {root}, which does not exist; create it or fix the path in the spec"
        )
    suffixes = SUFFIXES[spec.format]
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.name.lower().endswith(suffixes) and not p.name.startswith((".", "_"))
    )
    for path in files:  # a link inside an allowed folder may still lead out of it
        reason = (confinement or Confinement(root)).escape(str(path), roots=True)
        if reason:
            raise InputError(
                f"source file {path.relative_to(root)} {reason}; it was not read, and neither was the rest of "
                f"{spec.path!r}. Replace the link with the file itself"
            )
    if spec.settle:
        newest = time.time() - parse_duration(spec.settle).total_seconds()
        files = [p for p in files if p.stat().st_mtime <= newest]
    return files


def read_file(path: Path, spec: SourceSpec) -> pa.Table:
    """One file, parsed as the source's options say (product/parsing.py)."""
    try:
        return parse_file(path, spec)
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {spec.format} file {path}: {exc}") from None


def read_source(
    spec: SourceSpec,
    origin: Path,
    *,
    skip: set[str] | frozenset[str] = frozenset(),
    confinement: Confinement | None = None,
) -> SourceBatch:
    """Read every file of the source except those in ``skip`` (paths relative to the source)."""
    root = resolve_path(spec.path, origin, confinement)
    files = list_files(root, spec, confinement)
    base = root if root.is_dir() else root.parent
    fresh = [(p, str(p.relative_to(base))) for p in files if str(p.relative_to(base)) not in skip]
    if not fresh:
        return SourceBatch(None, [])
    tables = [read_file(path, spec) for path, _ in fresh]
    try:
        table = pa.concat_tables(tables, promote_options="permissive")
    except pa.ArrowInvalid as exc:
        raise InputError(f"files of source {spec.path!r} do not share one schema: {exc}") from None
    stamps = {name: [path.stat().st_size, path.stat().st_mtime_ns] for path, name in fresh}
    return SourceBatch(table, [name for _, name in fresh], stamps)
