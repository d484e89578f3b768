"""Encryption at rest of restricted fields with per-subject AES-GCM keys, and crypto-shredding on read.

Each value is sealed with its data subject's key and bound (as associated data) to the field
and the subject, so a ciphertext moved to another row or column does not open. A subject whose
key was destroyed reads as null (or a marker) in every snapshot, past ones included, while the
stored files never change.

Work is done in batches: rows are visited in subject order so that each subject's cipher is
made once, all nonces come from one call to the random source, and everything around the
AES-GCM calls themselves (which must stay one per value: each value is opened on its own) is
Arrow work over whole columns.
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
    "temporal_storage",
]

#: pyarrow ships no type information, so this alias documents intent only.
Column: TypeAlias = "pa.Array | pa.ChunkedArray"
FORGOTTEN = "[forgotten]"
#: The prefix of a sealed value stored in a string column: ``hxm1:`` + base64(nonce || ciphertext).
SEALED = "hxm1:"
_PREFIX = SEALED.encode()
_NONCE = 12
_NO_SUBJECT = (
    "{field}: rows without a subject cannot hold restricted values (nobody's key could seal them); "
    "fill the subject field or null the restricted value in the transformation"
)
_MOVED = "{field}: a value does not open with its subject's key (moved or tampered)"


def subject_field(port: OutputPort) -> str | None:
    """The field tagged ``subject``: whose data a row is (the key that encrypts its restricted fields)."""
    tagged = [f.name for f in port.properties if "subject" in f.tags]
    if len(tagged) > 1:
        raise PolicyError(f"port {port.name} tags more than one field as subject: {', '.join(tagged)}")
    return tagged[0] if tagged else None


def restricted_fields(port: OutputPort) -> list[str]:
    return [f.name for f in port.properties if f.classification == "restricted"]


def temporal_storage(kind: pa.DataType) -> pa.DataType | None:
    """The integer type temporal values travel as (their text forms do not round-trip reliably)."""
    if pa.types.is_date32(kind):
        return pa.int32()
    if pa.types.is_temporal(kind):
        return pa.int64()
    return None


def _array(column: Column) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _as_bytes(column: Column) -> list[bytes | None]:
    """Each value's text as UTF-8 bytes (temporal values as their integer storage), nulls as None."""
    column = _array(column)
    storage = temporal_storage(column.type)
    if storage is not None:
        column = column.cast(storage)
    return pc.cast(column, pa.large_string()).cast(pa.large_binary()).to_pylist()  # type: ignore[no-any-return]


class _Subjects:
    """Each row's subject as an index into the distinct subjects (-1: none)."""

    def __init__(self, subjects: Column) -> None:
        encoded = pc.dictionary_encode(pc.cast(_array(subjects), pa.string()))
        self.names: list[str | None] = encoded.dictionary.to_pylist()
        self.indices: np.ndarray = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)

    def ordered(self, rows: np.ndarray) -> zip[tuple[int, int]]:
        """``(row, subject index)`` of ``rows`` in subject order (stable): each subject's rows come together."""
        ordered = rows[np.argsort(self.indices[rows], kind="stable")]
        return zip(ordered.tolist(), self.indices[ordered].tolist(), strict=True)

    def each(self, keyed: np.ndarray) -> np.ndarray:
        """A per-subject boolean spread over the rows; rows without a subject get False."""
        return np.append(keyed, False)[self.indices]  # type: ignore[no-any-return]


def _rows(values: list[bytes | None]) -> np.ndarray:
    return np.flatnonzero(np.fromiter((v is not None for v in values), dtype=bool, count=len(values)))


def _seal(
    values: list[bytes | None], subjects: Column, keys: Mapping[str, bytes], field: str, *, b64: bool
) -> list[bytes | None]:
    """nonce || AES-GCM(value) per non-null value, with its subject's key and ``field\\0subject`` as AAD.

    ``b64``: each as ``hxm1:`` + base64 of that, the form a string column stores.
    """
    owners = _Subjects(subjects)
    rows = _rows(values)
    if (owners.indices[rows] < 0).any():
        raise PolicyError(_NO_SUBJECT.format(field=field))
    nonces = os.urandom(_NONCE * len(rows))  # one call to the random source, a fresh nonce per value
    out: list[bytes | None] = [None] * len(values)
    names, label, b2a = owners.names, f"{field}\0".encode(), binascii.b2a_base64
    last, start = -1, 0
    for row, group in owners.ordered(rows):
        if group != last:
            subject = names[group]
            key = keys.get(subject) if subject is not None else None
            if key is None:
                raise PolicyError(f"no data key for subject {subject!r}; create keys before encrypting")
            encrypt, aad, last = AESGCM(key).encrypt, label + subject.encode(), group  # type: ignore[union-attr]
        nonce = nonces[start : start + _NONCE]
        start += _NONCE
        blob = nonce + encrypt(nonce, values[row], aad)  # type: ignore[arg-type]
        out[row] = _PREFIX + b2a(blob, newline=False) if b64 else blob
    return out


def _open(
    values: list[bytes | None], rows: np.ndarray, owners: _Subjects, keys: Mapping[str, bytes], field: str, *, b64: bool
) -> list[bytes | None]:
    """The values at ``rows`` opened with their subject's key; ``b64``: they are base64 text of the blob.

    Rows whose subject has no key (forgotten) and all other rows stay None.
    """
    out: list[bytes | None] = [None] * len(values)
    names, label, a2b = owners.names, f"{field}\0".encode(), binascii.a2b_base64
    last, decrypt = -1, None
    try:
        for row, group in owners.ordered(rows):
            if group != last:
                subject = names[group] if group >= 0 else None
                key = keys.get(subject) if subject is not None else None
                decrypt = AESGCM(key).decrypt if key is not None else None
                aad, last = label + (subject or "").encode(), group
            if decrypt is not None:
                blob = a2b(values[row], strict_mode=True) if b64 else values[row]  # type: ignore[arg-type]
                out[row] = decrypt(blob[:_NONCE], blob[_NONCE:], aad)  # type: ignore[index]
    except binascii.Error as exc:
        raise PolicyError(f"{field}: a stored value is not a sealed value (damaged file?)") from exc
    except (InvalidTag, ValueError) as exc:
        raise PolicyError(_MOVED.format(field=field)) from exc
    return out


def encrypt_column(values: Column, subjects: Column, keys: Mapping[str, bytes], field: str) -> pa.Array:
    """Seal each value with its subject's key: nonce || AES-GCM(value), a binary column; nulls stay null."""
    return pa.array(_seal(_as_bytes(values), subjects, keys, field, b64=False), type=pa.binary())


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
    owners = _Subjects(subjects)
    blobs = _array(sealed).to_pylist()
    text = _text(_open(blobs, _rows(blobs), owners, keys, field, b64=False), field)
    storage = temporal_storage(to_type)
    result = pc.cast(text, storage).cast(to_type) if storage is not None else pc.cast(text, to_type)
    if marker and pa.types.is_string(to_type):
        # A value that was null before sealing stays null; only shredded values get the marker.
        keyless = np.array([s is None or s not in keys for s in owners.names], dtype=bool)
        forgotten = owners.each(keyless) | (owners.indices < 0)
        forgotten &= pc.is_valid(_array(sealed)).to_numpy(zero_copy_only=False)
        if forgotten.any():
            result = pc.if_else(pa.array(forgotten), pa.scalar(FORGOTTEN), result)
    return result


def _text(values: list[bytes | None], field: str) -> pa.Array:
    try:
        return pa.array(values, type=pa.large_binary()).cast(pa.large_string())
    except pa.ArrowInvalid as exc:  # authenticated, yet not UTF-8: not something we sealed
        raise PolicyError(_MOVED.format(field=field)) from exc


def seal_text(values: Column, subjects: Column, keys: Mapping[str, bytes], field: str) -> pa.Array:
    """Seal text values like :func:`encrypt_column`, as text a string column can hold.

    Each value becomes ``hxm1:`` + base64(nonce || AES-GCM ciphertext), with the field and the
    subject as associated data; nulls stay null.
    """
    sealed = _seal(_as_bytes(values), subjects, keys, field, b64=True)
    return pa.array(sealed, type=pa.large_binary()).cast(pa.large_string())


def _stored(stored: Column) -> tuple[np.ndarray, list[bytes | None]]:
    """Which values are sealed (``hxm1:`` prefix), and the base64 text of each sealed value (None elsewhere)."""
    column = pc.cast(_array(stored), pa.large_string())
    marked = pc.fill_null(pc.starts_with(column, SEALED), False)
    sliced = pc.utf8_slice_codeunits(column, len(SEALED)).cast(pa.large_binary())
    bodies = pc.if_else(marked, sliced, pa.scalar(None, pa.large_binary()))
    return marked.to_numpy(zero_copy_only=False), bodies.to_pylist()


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
    it is, unless its subject is in ``forgotten``.
    """
    owners = _Subjects(subjects)
    marked, bodies = _stored(stored)
    opened = _text(_open(bodies, np.flatnonzero(marked), owners, keys, field, b64=True), field)
    if marked.all():
        return opened
    shredded = owners.each(np.array([s in forgotten for s in owners.names], dtype=bool))
    nothing = pa.scalar(None, pa.large_string())
    legacy = pc.if_else(pa.array(shredded), nothing, pc.cast(_array(stored), pa.large_string()))
    return pc.if_else(pa.array(marked), opened, legacy)


def sealed_mask(stored: Column, subjects: Column, keys: Mapping[str, bytes], field: str) -> list[bool]:
    """Which values are sealed values of their own row: they open with the subject's key for ``field``."""
    owners = _Subjects(subjects)
    marked, bodies = _stored(stored)
    try:
        _open(bodies, np.flatnonzero(marked), owners, keys, field, b64=True)
    except PolicyError:  # a damaged or moved value among them: check them one by one
        texts, names = _array(stored).to_pylist(), _array(subjects).to_pylist()
        return [_opens(t, s, keys, field) for t, s in zip(texts, names, strict=True)]
    keyed = owners.each(np.array([s in keys for s in owners.names], dtype=bool))
    return (marked & keyed).tolist()  # type: ignore[no-any-return]


def _opens(text: object, owner: object, keys: Mapping[str, bytes], field: str) -> bool:
    key = keys.get(owner) if isinstance(owner, str) else None
    if key is None or not isinstance(text, str) or not text.startswith(SEALED):
        return False
    try:
        blob = binascii.a2b_base64(text[len(SEALED) :], strict_mode=True)
        AESGCM(key).decrypt(blob[:_NONCE], blob[_NONCE:], f"{field}\0{owner}".encode())
    except (binascii.Error, ValueError, InvalidTag):
        return False
    return True
