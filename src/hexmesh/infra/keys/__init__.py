"""Per-subject data keys, wrapped with a master key, and their destruction (crypto-shredding)."""

from hexmesh.infra.keys.master import MASTER_KEY_FILE, master_key
from hexmesh.infra.keys.subjects import KeyStore, KeyStoreError, generate_master_key

__all__ = ["MASTER_KEY_FILE", "KeyStore", "KeyStoreError", "generate_master_key", "master_key"]
