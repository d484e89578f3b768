"""Workspace settings: where state, catalog and warehouse live, from files and environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from hexmesh.errors import WorkspaceError
from hexmesh.spec import safe_yaml

__all__ = ["SETTINGS_FILE", "Settings"]

SETTINGS_FILE = "settings.yaml"
_KEYS = {
    "state_url": "HEXMESH_STATE_URL",
    "catalog_url": "HEXMESH_CATALOG_URL",
    "warehouse": "HEXMESH_WAREHOUSE",
    "catalog_name": "HEXMESH_CATALOG_NAME",
    "files_cache_mb": "HEXMESH_FILES_CACHE_MB",
}


@dataclass(frozen=True)
class Settings:
    """Where a workspace keeps things; embedded defaults under ``home``.

    Every value can come from ``<home>/settings.yaml`` or an environment variable
    (``HEXMESH_STATE_URL``, ``HEXMESH_CATALOG_URL``, ``HEXMESH_WAREHOUSE``), the latter winning,
    so moving to PostgreSQL or another warehouse is a setting, not code.
    """

    home: Path
    state_url: str
    catalog_url: str
    warehouse: str
    catalog_name: str = "hexmesh"
    #: Megabytes of pinned Parquet downloads a node keeps in ``<home>/cache/files`` (LRU).
    files_cache_mb: int = 1024

    def __post_init__(self) -> None:
        # Files and the environment give strings: check and convert here, with a helpful error.
        value = str(self.files_cache_mb).strip()
        if not (value.isascii() and value.isdigit()):
            raise WorkspaceError(
                f"files_cache_mb {self.files_cache_mb!r} is not a whole number of megabytes; "
                "set it in settings.yaml or HEXMESH_FILES_CACHE_MB, e.g. 1024 (0 keeps only files in use)"
            )
        object.__setattr__(self, "files_cache_mb", int(value))

    @property
    def files_cache_bytes(self) -> int:
        return self.files_cache_mb * 1024 * 1024

    @classmethod
    def load(cls, home: str | Path | None = None) -> Settings:
        """Settings for ``home``, else ``$HEXMESH_HOME``, else ``./.hexmesh``."""
        root = Path(home or os.environ.get("HEXMESH_HOME") or ".hexmesh").expanduser().resolve()
        settings = cls.defaults(root)
        file = root / SETTINGS_FILE
        if file.is_file():
            settings = settings.merged(_read(file))
        overrides: dict[str, Any] = {key: os.environ[env] for key, env in _KEYS.items() if os.environ.get(env)}
        return replace(settings, **overrides)

    @classmethod
    def defaults(cls, home: Path) -> Settings:
        return cls(
            home=home,
            state_url=f"sqlite:///{home / 'state.db'}",
            catalog_url=f"sqlite:///{home / 'catalog.db'}",
            warehouse=(home / "warehouse").as_uri(),
        )

    def merged(self, values: dict[str, Any]) -> Settings:
        unknown = sorted(set(values) - set(_KEYS))
        if unknown:
            raise WorkspaceError(
                f"unknown setting(s) {', '.join(unknown)} in {self.home / SETTINGS_FILE}; "
                f"known settings: {', '.join(_KEYS)}"
            )
        strings: dict[str, Any] = {k: str(v) for k, v in values.items()}
        return replace(self, **strings)

    @property
    def quarantine(self) -> Path:
        return self.home / "quarantine"

    @property
    def bundles(self) -> Path:
        """Deployed product versions, copied so a run never depends on a working copy."""
        return self.home / "bundles"

    def ensure(self) -> Settings:
        self.home.mkdir(parents=True, exist_ok=True)
        if self.warehouse.startswith("file://"):
            Path(self.warehouse.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
        return self


def _read(file: Path) -> dict[str, Any]:
    try:
        data = safe_yaml.load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise WorkspaceError(f"{file} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise WorkspaceError(f"{file} must be a mapping of setting: value")
    return data
