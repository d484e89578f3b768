"""The mesh secret every pseudonym and token key is derived from, and the mesh governance folder.

The secret comes from the ``secret`` setting (``HEXMESH_SECRET``; text, at least 16 bytes) or, on
first use, a random one written to ``<home>/mesh.secret`` readable only by its owner. Rotating it
changes every pseudonym. The governance folder is the ``governance`` setting or ``<home>/governance``
(``*.cedar``, ``policies.yaml``, ``rules.yaml``); without one the mesh adds no policies and only the
core rules.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from hexmesh.errors import WorkspaceError
from hexmesh.governance import CORE, MeshGovernance, MeshPolicies, parse_folder
from hexmesh.infra.secretfile import create_once
from hexmesh.infra.settings import Settings, variable

__all__ = ["SECRET_ENV", "governance_folder", "load_governance", "mesh_secret"]

SECRET_ENV = variable("secret")
_FILE = "mesh.secret"


def mesh_secret(settings: Settings) -> bytes:
    """The mesh secret (≥ 16 bytes), created under the workspace home when none is configured."""
    value = settings.secret
    if value:
        if len(value.encode()) < 16:
            raise WorkspaceError(f"{SECRET_ENV} is {len(value.encode())} bytes long; it needs at least 16")
        return value.encode()
    path = settings.home / _FILE
    create_once(path, lambda: secrets.token_urlsafe(32))
    text = path.read_text(encoding="ascii").strip()
    if len(text) < 16:
        raise WorkspaceError(f"{path} holds a secret shorter than 16 bytes; delete it to create a new one")
    return text.encode()


def governance_folder(settings: Settings) -> Path:
    """Where the mesh's governance folder is (it may not exist)."""
    return settings.governance_folder


def load_governance(folder: Path | None) -> MeshGovernance:
    """Parse a governance folder; a missing folder means no mesh policies and the core rules."""
    if folder is None or not folder.is_dir():
        return MeshGovernance(MeshPolicies(), CORE)
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir()) if p.is_file()}
    return parse_folder(files)
