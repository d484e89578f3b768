"""Encryption at rest of restricted fields with per-subject AES-GCM keys, and crypto-shredding on read.

Each value is sealed with its data subject's key and bound (as associated data) to the field
and the subject, so a ciphertext moved to another row or column does not open. A subject whose
key was destroyed reads as null (or a marker) in every snapshot, past ones included, while the
stored files never change. Work is grouped per subject: one cipher object per subject.
"""

from __future__ import annotations

import binascii
import os
from collections.abc import Collection, Mapping
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hexmesh.governance.exceptions import PolicyError
from hexmesh.spec.model import OutputPort

__all__ = [
    "FORGOTTEN",
    "SEALED",
    "decrypt_column",
    "encrypt_column",
    "open_text",
    "restricted_fields",
    "seal_text",
    "sealed_mask",
    "subject_field",
]

#: pyarrow ships no type information, so this alias documents intent only.
Column: TypeAlias = "pa.Array | pa.ChunkedArray"
FORGOTTEN = "[forgotten]"
#: The prefix of a sealed value stored in a string column: ``hxm1:`` + base64(nonce || ciphertext).
SEALED = "hxm1:"
_NONCE = 12


def subject_field(port: OutputPort) -> str | None:
    """The field tagged ``subject``: whose data a row is (the key that encrypts its restricted fields)."""
    tagged = [f.name for f in port.properties if "subject" in f.tags]
    if len(tagged) > 1:
        raise PolicyError(f"port {port.name} tags more than one field as subject: {', '.join(tagged)}")
    return tagged[0] if tagged else None


def restricted_fields(port: OutputPort) -> list[str]:
    return [f.name for f in port.properties if f.classification == "restricted"]


def _storage(kind: pa.DataType) -> pa.DataType | None:
    """The integer type temporal values travel as (their text forms do not round-trip reliably)."""
    if pa.types.is_date32(kind):
        return pa.int32()
    if pa.types.is_temporal(kind):
        return pa.int64()
    return None


def _to_text(column: Column) -> list[str | None]:
    storage = _storage(column.type)
    if storage is not None:
        column = column.cast(storage)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = pc.cast(column, pa.string())
    return column.to_pylist()  # type: ignore[no-any-return]


def _groups(subjects: Column) -> tuple[list[str | None], np.ndarray, list[np.ndarray]]:
    """Distinct subjects, each row's subject index (-1: none), and the rows of each subject."""
    encoded = pc.dictionary_encode(pc.cast(subjects, pa.string()))
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    indices = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    # One stable sort splits rows by subject in O(n log n); a mask per subject would be O(n × subjects).
    order = np.argsort(indices, kind="stable")
    bounds = np.searchsorted(indices[order], np.arange(len(encoded.dictionary) + 1))
    rows = [order[bounds[g] : bounds[g + 1]] for g in range(len(encoded.dictionary))]
    return encoded.dictionary.to_pylist(), indices, rows


def encrypt_column(values: Column, subjects: Column, keys: Mapping[str, bytes], field: str) -> pa.Array:
    """Seal each value with its subject's key: nonce || AES-GCM(value), a binary column; nulls stay null."""
    texts = _to_text(values)
    names, indices, groups = _groups(subjects)
    out: list[bytes | None] = [None] * len(texts)
    for group, subject in enumerate(names):
        if subject is None:
            continue  # rows without a subject: checked below, they may only hold nulls
        if subject not in keys:
            if all(texts[row] is None for row in groups[group]):
                continue  # nothing to seal: a subject without values needs no key
            raise PolicyError(f"no data key for subject {subject!r}; create keys before encrypting")
        cipher = AESGCM(keys[subject])
        aad = f"{field}\0{subject}".encode()
        for row in groups[group]:
            text = texts[row]
            if text is not None:
                nonce = os.urandom(_NONCE)
                out[row] = nonce + cipher.encrypt(nonce, text.encode(), aad)
    if any(t is not None for t, i in zip(texts, indices, strict=True) if i < 0):
        raise PolicyError(
            f"{field}: rows without a subject cannot hold restricted values (nobody's key could seal them); "
            "fill the subject field or null the restricted value in the transformation"
        )
    return pa.array(out, type=pa.binary())


def decrypt_column(
    sealed: Column,
    subjects: Column,
    keys: Mapping[str, bytes],
    field: str,
    to_type: pa.DataType,
    *,
    marker: bool = False,
) -> pa.Array:
    """Open sealed values; subjects without a key (forgotten) read as null, or ``[forgotten]`` for text."""
    blobs = sealed.to_pylist()
    names, _, groups = _groups(subjects)
    out: list[str | None] = [None] * len(blobs)
    forgotten = np.zeros(len(blobs), dtype=bool)
    for group, subject in enumerate(names):
        rows = groups[group]
        key = keys.get(subject) if subject is not None else None
        if key is None:
            forgotten[rows] = True
            continue
        cipher = AESGCM(key)
        aad = f"{field}\0{subject}".encode()
        for row in rows:
            blob = blobs[row]
            if blob is not None:
                try:
                    out[row] = cipher.decrypt(blob[:_NONCE], blob[_NONCE:], aad).decode()
                except InvalidTag as exc:
                    raise PolicyError(
                        f"{field}: a value does not open with its subject's key (moved or tampered)"
                    ) from exc
    text = pa.array(out, type=pa.string())
    storage = _storage(to_type)
    result = pc.cast(text, storage).cast(to_type) if storage is not None else pc.cast(text, to_type)
    # A value that was null before sealing stays null; only shredded values get the marker.
    forgotten &= np.array([b is not None for b in blobs], dtype=bool)
    if marker and pa.types.is_string(to_type) and forgotten.any():
        result = pc.if_else(pa.array(forgotten), pa.scalar(FORGOTTEN), result)
    return result


def seal_text(values: Column, subjects: Column, keys: Mapping[str, bytes], field: str) -> pa.Array:
    """Seal text values like :func:`encrypt_column`, as text a string column can hold.

    Each value becomes ``hxm1:`` + base64(nonce || AES-GCM ciphertext), with the field and the
    subject as associated data; nulls stay null. One pass, one cipher object per subject.
    """
    texts = _to_text(values)
    owners = pc.cast(subjects, pa.string()).to_pylist()
    ciphers: dict[str, tuple[AESGCM, bytes]] = {}
    out: list[str | None] = []
    for text, owner in zip(texts, owners, strict=True):
        if text is None:
            out.append(None)
            continue
        if owner is None:
            raise PolicyError(
                f"{field}: rows without a subject cannot hold restricted values (nobody's key could seal them); "
                "fill the subject field or null the restricted value in the transformation"
            )
        found = ciphers.get(owner)
        if found is None:
            if owner not in keys:
                raise PolicyError(f"no data key for subject {owner!r}; create keys before encrypting")
            found = ciphers[owner] = (AESGCM(keys[owner]), f"{field}\0{owner}".encode())
        nonce = os.urandom(_NONCE)
        blob = nonce + found[0].encrypt(nonce, text.encode(), found[1])
        out.append(SEALED + binascii.b2a_base64(blob, newline=False).decode())
    return pa.array(out, type=pa.large_string())


def open_text(
    stored: Column,
    subjects: Column,
    keys: Mapping[str, bytes],
    field: str,
    *,
    forgotten: Collection[str] = (),
) -> pa.Array:
    """Open a column written by :func:`seal_text`; forgotten subjects (no key) read as null.

    A value without the ``hxm1:`` prefix was written before encryption at rest: it is returned as
    it is, unless its subject is in ``forgotten``. One pass, one cipher object per subject.
    """
    texts = stored.to_pylist()
    owners = pc.cast(subjects, pa.string()).to_pylist()
    ciphers: dict[str, tuple[AESGCM, bytes]] = {}
    skip = len(SEALED)
    out: list[str | None] = []
    for text, owner in zip(texts, owners, strict=True):
        if text is None:
            out.append(None)
        elif not text.startswith(SEALED):
            out.append(None if owner in forgotten else text)
        elif owner is None or owner not in keys:
            out.append(None)  # forgotten: the key is gone
        else:
            found = ciphers.get(owner)
            if found is None:
                found = ciphers[owner] = (AESGCM(keys[owner]), f"{field}\0{owner}".encode())
            try:
                blob = binascii.a2b_base64(text[skip:], strict_mode=True)
            except (binascii.Error, ValueError) as exc:
                raise PolicyError(f"{field}: a stored value is not a sealed value (damaged file?)") from exc
            try:
                out.append(found[0].decrypt(blob[:_NONCE], blob[_NONCE:], found[1]).decode())
            except (InvalidTag, ValueError) as exc:
                raise PolicyError(
                    f"{field}: a value does not open with its subject's key (moved or tampered)"
                ) from exc
    return pa.array(out, type=pa.large_string())


def sealed_mask(stored: Column, subjects: Column, keys: Mapping[str, bytes], field: str) -> list[bool]:
    """Which values are sealed values of their own row: they open with the subject's key for ``field``."""
    texts = stored.to_pylist()
    owners = pc.cast(subjects, pa.string()).to_pylist()
    ciphers = {subject: AESGCM(key) for subject, key in keys.items()}
    skip = len(SEALED)
    out = []
    for text, owner in zip(texts, owners, strict=True):
        cipher = ciphers.get(owner) if owner is not None else None
        ok = False
        if cipher is not None and isinstance(text, str) and text.startswith(SEALED):
            try:
                blob = binascii.a2b_base64(text[skip:], strict_mode=True)
                cipher.decrypt(blob[:_NONCE], blob[_NONCE:], f"{field}\0{owner}".encode())
                ok = True
            except (binascii.Error, ValueError, InvalidTag):
                ok = False
        out.append(ok)
    return out
