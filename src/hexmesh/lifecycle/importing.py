"""``hexmesh import``: open-standard documents in, hexmesh product folders out, each one validated.

A folder is written only once its product validates (alone and against the deployed mesh), and
never over a folder that already holds something unless asked to (``force``): an import loses
nothing, of the documents (what hexmesh has no key for is kept in ``customProperties``) or of
the user's files.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from hexmesh.errors import HexmeshError
from hexmesh.spec import SPEC_FILENAME, LoadedSpec
from hexmesh.standards import Imported, Options, import_documents

__all__ = ["ImportOutcome", "import_products", "spec_text"]


@dataclass
class ImportOutcome:
    """One product written by an import, and what the user should know about it."""

    product: str
    version: str
    folder: Path
    standard: str
    sources: list[Path]
    kept: list[str] = field(default_factory=list)
    """Where hexmesh kept what it has no key for (``customProperties``)."""
    changed: list[str] = field(default_factory=list)
    """What hexmesh changed or added to have a product that validates and runs."""


def spec_text(imported: Imported) -> str:
    """The ``dataproduct.yaml`` of an imported product (camelCase keys, defaults left out)."""
    data = imported.spec.model_dump(by_alias=True, exclude_defaults=True, mode="json")
    head = f"# Imported by hexmesh from {', '.join(p.name for p in imported.sources)} ({imported.standard.upper()}).\n"
    return head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def import_products(
    paths: Sequence[Path],
    out: Path,
    options: Options,
    validate: Callable[[list[Path]], list[LoadedSpec]],
    *,
    force: bool = False,
) -> list[ImportOutcome]:
    """Import ``paths`` into folders under ``out``; ``validate`` checks them as ``hexmesh validate`` does."""
    products = import_documents(list(paths), options)
    targets = [out / p.spec.name for p in products]
    for target in targets:
        if target.exists() and any(target.iterdir()) and not force:
            raise HexmeshError(
                f"{target} already holds files; import into another --out folder, or pass --force to "
                "overwrite the files the import writes (others are left alone)"
            )
    outcomes = []
    for product, target in zip(products, targets, strict=True):
        staging = out / f".{product.spec.name}.importing"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            _write(product, staging)
            validate([staging])
            target.mkdir(parents=True, exist_ok=True)
            for item in staging.iterdir():
                item.replace(target / item.name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        outcomes.append(
            ImportOutcome(
                product.spec.key,
                product.spec.version,
                target,
                product.standard,
                product.sources,
                product.notes.kept,
                product.notes.changed,
            )
        )
    return outcomes


def _write(product: Imported, folder: Path) -> None:
    (folder / SPEC_FILENAME).write_text(spec_text(product), encoding="utf-8")
    (folder / "README.md").write_text(product.readme, encoding="utf-8")
    for name, text in product.files.items():
        (folder / name).write_text(text, encoding="utf-8")
