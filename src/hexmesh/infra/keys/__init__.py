"""Per-subject data keys, wrapped with a master key, and their destruction (crypto-shredding)."""

from hexmesh.infra.keys.store import KeyStore, generate_master_key, master_key_from_env

__all__ = ["KeyStore", "generate_master_key", "master_key_from_env"]
