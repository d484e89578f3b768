"""Keyed pseudonyms (HMAC-SHA256) and reversible tokens (AES-SIV), computed once per distinct value.

Both are deterministic within a scope, so equal values stay equal (joins and group-bys work) and
differ across scopes (two consumers cannot join their extracts). Scope keys are derived from one
mesh secret, so no key table is needed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from typing import TypeAlias

import pyarrow as pa
import pyarrow.compute as pc
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from hexmesh.cache import BoundedCache
from hexmesh.governance.exceptions import PolicyError

__all__ = ["derive_key", "detokenize", "pseudonymize", "tokenize"]

#: pyarrow ships no type information, so this alias documents intent only.
Column: TypeAlias = "pa.Array | pa.ChunkedArray"
_PSEUDONYM_BYTES = 16  # 128 bits: collisions are negligible, strings stay short


def derive_key(secret: bytes, use: str, scope: str, size: int = 32) -> bytes:
    """A key for one use (``pseudonymize``, ``tokenize``) and scope, derived from the mesh secret."""
    if len(secret) < 16:
        raise PolicyError("the mesh secret must be at least 16 bytes; generate one with os.urandom(32)")
    out = b""
    counter = 0
    while len(out) < size:
        out += hmac.new(secret, f"{use}\0{scope}\0{counter}".encode(), hashlib.sha256).digest()
        counter += 1
    return out[:size]


def _as_text(column: Column) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return column if pa.types.is_string(column.type) else pc.cast(column, pa.string())


#: Results per (use, key): value → result, so repeated reads of a port pay for each distinct value
#: once. Weighed by results: at most two million in all, the least recently used scope leaves first.
_MEMO: BoundedCache[bytes, dict[str, str]] = BoundedCache(2_000_000, weigh=len)


def _per_distinct(column: Column, function: Callable[[str], str], memo_key: bytes) -> pa.Array:
    """Apply ``function`` to each distinct value only, then spread the results back (nulls stay null)."""
    encoded = pc.dictionary_encode(_as_text(column))
    scope = hashlib.sha256(memo_key).digest()
    memo = _MEMO.get(scope) or {}
    mapped = []
    for value in encoded.dictionary.to_pylist():
        found = memo.get(value)
        if found is None:
            found = memo[value] = function(value)
        mapped.append(found)
    _MEMO.put(scope, memo)  # weighed again: it may have grown
    return pc.take(pa.array(mapped, type=pa.string()), encoded.indices)


def pseudonymize(column: Column, key: bytes) -> pa.Array:
    """``p_`` + 32 hex chars of HMAC-SHA256(key, value): stable in the scope, irreversible."""
    # Copying a keyed HMAC state skips re-deriving the padded key for every value.
    base = hmac.new(key, digestmod=hashlib.sha256)

    def pseudonym(value: str) -> str:
        mac = base.copy()
        mac.update(value.encode())
        return "p_" + mac.digest()[:_PSEUDONYM_BYTES].hex()

    return _per_distinct(column, pseudonym, b"pseudonymize\0" + key)


def tokenize(column: Column, key: bytes) -> pa.Array:
    """``t_`` + base64url(AES-SIV(value)): deterministic, and reversible with the key."""
    if len(key) not in (32, 48, 64):
        raise PolicyError("a tokenization key is 32, 48 or 64 bytes (AES-SIV)")
    siv = AESSIV(key)
    return _per_distinct(
        column, lambda v: "t_" + base64.urlsafe_b64encode(siv.encrypt(v.encode(), None)).decode(), b"tokenize\0" + key
    )


def detokenize(column: Column, key: bytes, to_type: pa.DataType = pa.string()) -> pa.Array:
    """Reverse :func:`tokenize`; a token from another scope or a forged one is a PolicyError."""
    siv = AESSIV(key)

    def reverse(token: str) -> str:
        try:
            return siv.decrypt(base64.urlsafe_b64decode(token.removeprefix("t_")), None).decode()
        except (InvalidTag, ValueError) as exc:
            raise PolicyError(f"token {token[:12]}… was not issued in this scope") from exc

    out = _per_distinct(column, reverse, b"detokenize\0" + key)
    return out if to_type == pa.string() else pc.cast(out, to_type)
