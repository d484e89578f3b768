"""Where the master key comes from: ``HEXMESH_MASTER_KEY``, else a key file in the workspace.

The file default (``<home>/keys/master.key``, mode 0600, created once) makes encryption at rest
work out of the box on one machine. It sits next to the state database that holds the wrapped
data keys, so it protects against a leaked warehouse (files, backups of tables), not against a
leaked workspace: production sets ``HEXMESH_MASTER_KEY`` from a secret manager or KMS.
"""

from __future__ import annotations

from pathlib import Path

from hexmesh.infra.keys.subjects import MASTER_KEY_ENV, KeyStoreError, decode_master_key, generate_master_key
from hexmesh.infra.secretfile import create_once
from hexmesh.infra.settings import Settings

__all__ = ["MASTER_KEY_FILE", "master_key"]

MASTER_KEY_FILE = Path("keys") / "master.key"


def master_key(settings: Settings) -> bytes:
    """The master key: the ``master_key`` setting when set, else ``<home>/keys/master.key`` (created on first use)."""
    if settings.master_key:
        return decode_master_key(settings.master_key, MASTER_KEY_ENV)
    path = settings.home / MASTER_KEY_FILE
    create_once(path, lambda: generate_master_key() + "\n")
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyStoreError(f"cannot read the master key file {path}: {exc}") from exc
    if not text:
        raise KeyStoreError(
            f"the master key file {path} is empty; restore it from your backup (a new key cannot open "
            f"existing data), or set {MASTER_KEY_ENV}"
        )
    return decode_master_key(text, str(path))
