"""Restricted fields sealed per subject; forgetting a subject shreds every snapshot without touching files."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine

from hexmesh.governance import FORGOTTEN, PolicyError, decrypt_column, encrypt_column, subject_field
from hexmesh.infra.keys import KeyStore, generate_master_key
from hexmesh.infra.keys.subjects import KeyStoreError
from hexmesh.spec.model import DataProductSpec

MASTER = b"m" * 32


def _seal(table: pa.Table, store: KeyStore) -> pa.Table:
    keys = store.ensure(table.column("user_id").to_pylist())
    sealed = encrypt_column(table.column("email"), table.column("user_id"), keys, "email")
    return table.set_column(table.schema.get_field_index("email"), "email", sealed)


def _open(table: pa.Table, store: KeyStore, marker: bool = False) -> pa.Array:
    keys = store.keys(table.column("user_id").to_pylist())
    return decrypt_column(table.column("email"), table.column("user_id"), keys, "email", pa.string(), marker=marker)


def test_forget_shreds_past_snapshots_but_not_files(
    db: Engine, table: pa.Table, tmp_path: Path, spec: DataProductSpec
) -> None:
    assert subject_field(spec.output_ports[0]) == "user_id"
    store = KeyStore(db, MASTER)
    snapshots = [tmp_path / "snap1.parquet", tmp_path / "snap2.parquet"]
    for i, path in enumerate(snapshots):
        pq.write_table(_seal(table.slice(i * 100, 100), store), path)
    assert pa.types.is_binary(pq.read_table(snapshots[0]).schema.field("email").type)
    digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in snapshots]
    assert _open(pq.read_table(snapshots[0]), store).to_pylist() == table.column("email").to_pylist()[:100]

    assert store.forget("u7") and store.is_forgotten("u7")
    for i, path in enumerate(snapshots):
        stored = pq.read_table(path)
        opened = _open(stored, store, marker=True).to_pylist()
        original = table.slice(i * 100, 100)
        for subject, before, after in zip(
            original.column("user_id").to_pylist(), original.column("email").to_pylist(), opened, strict=True
        ):
            assert after == (FORGOTTEN if subject == "u7" else before)
    assert [hashlib.sha256(p.read_bytes()).hexdigest() for p in snapshots] == digests
    assert _open(pq.read_table(snapshots[0]), store).to_pylist().count(None) == 2
    with pytest.raises(KeyStoreError, match="forgotten"):
        store.ensure(["u7"])
    assert not store.forget("never-seen")


def test_wrapped_keys_need_the_master_key(db: Engine) -> None:
    KeyStore(db, MASTER).ensure(["a"])
    with pytest.raises(KeyStoreError, match="master key is not the one .* Nothing was changed"):
        KeyStore(db, b"x" * 32)
    assert len(generate_master_key()) >= 43


def test_moved_ciphertext_does_not_open(db: Engine) -> None:
    store = KeyStore(db, MASTER)
    keys = store.ensure(["a", "b"])
    sealed = encrypt_column(pa.array(["secret-a"]), pa.array(["a"]), keys, "email")
    with pytest.raises(PolicyError, match="moved or tampered"):
        decrypt_column(sealed, pa.array(["a"]), keys, "phone", pa.string())


@pytest.mark.parametrize(
    "values",
    [
        pa.array([1, None, 3], pa.int64()),
        pa.array([1.5, 2.25, None]),
        pa.array([dt.date(2026, 1, 2), None, dt.date(1999, 12, 31)], pa.date32()),
        pa.array([dt.datetime(2026, 1, 2, 3, 4, 5, 6), None, None], pa.timestamp("us", tz="UTC")),
        pa.array([True, False, None]),
    ],
)
def test_types_round_trip(db: Engine, values: pa.Array) -> None:
    keys = KeyStore(db, MASTER).ensure(["s"])
    subjects = pa.array(["s"] * len(values))
    sealed = encrypt_column(values, subjects, keys, "f")
    assert decrypt_column(sealed, subjects, keys, "f", values.type).equals(values)


def test_values_without_subject_are_refused(db: Engine) -> None:
    keys = KeyStore(db, MASTER).ensure(["s"])
    with pytest.raises(PolicyError, match="without a subject"):
        encrypt_column(pa.array(["x"]), pa.array([None], pa.string()), keys, "f")


def test_a_forgotten_key_leaves_no_bytes_in_the_database(tmp_path: Path) -> None:
    from sqlalchemy import select

    from hexmesh.infra.keys.subjects import data_keys
    from hexmesh.infra.state.store import StateStore

    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")  # WAL mode, as a workspace runs it
    store = KeyStore(state.db, MASTER)
    store.ensure([f"s{i}" for i in range(50)])
    with state.db.connect() as conn:
        wrapped = {bytes(w) for (w,) in conn.execute(select(data_keys.c.wrapped))}
    store.forget("s7")
    remaining = set(store.keys([f"s{i}" for i in range(50)]).keys())
    assert remaining == {f"s{i}" for i in range(50)} - {"s7"}
    with state.db.connect() as conn:
        kept = {bytes(w) for (w,) in conn.execute(select(data_keys.c.wrapped))}
    (gone,) = wrapped - kept
    state.close()
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("state.db*"))
    assert gone not in on_disk and next(iter(kept)) in on_disk


def test_sealed_text_opens_and_forgotten_subjects_read_as_null() -> None:
    from hexmesh.governance.encryption import SEALED, open_text, seal_text

    keys = {"a": b"k" * 32, "b": b"j" * 32}
    values, subjects = pa.array(["x@a", None, "y@b"]), pa.array(["a", "a", "b"])
    sealed = seal_text(values, subjects, keys, "email")
    assert sealed.type == pa.large_string() and sealed[0].as_py().startswith(SEALED) and sealed[1].as_py() is None
    assert open_text(sealed, subjects, keys, "email").to_pylist() == ["x@a", None, "y@b"]
    assert open_text(sealed, subjects, {"a": keys["a"]}, "email").to_pylist() == ["x@a", None, None]
    # Values written before encryption at rest pass through, unless their subject was forgotten.
    legacy = pa.array(["old@a", "old@b"], type=pa.large_string())
    owners = pa.array(["a", "b"])
    assert open_text(legacy, owners, {}, "email", forgotten={"b"}).to_pylist() == ["old@a", None]


def test_a_damaged_sealed_value_is_an_error_not_data() -> None:
    from hexmesh.governance.encryption import SEALED, open_text

    damaged = pa.array([SEALED + "not base64!"], type=pa.large_string())
    with pytest.raises(PolicyError, match="not a sealed value"):
        open_text(damaged, pa.array(["a"]), {"a": b"k" * 32}, "email")


def test_many_new_subjects_get_one_key_each_in_batches(db: Engine) -> None:
    store = KeyStore(db, MASTER)
    subjects = [f"u{i}" for i in range(12_001)]  # more than two insert batches
    first = store.ensure(subjects)
    assert len(first) == len(subjects) and len(set(first.values())) == len(subjects)
    assert KeyStore(db, MASTER).ensure(subjects) == first  # a second process finds the same keys


class _LateReader(KeyStore):
    """Another writer creates some keys between this store's lookup and its insert."""

    def __init__(self, db: Engine, master: bytes, rival: KeyStore, taken: list[str]) -> None:
        super().__init__(db, master)
        self.rival, self.taken, self.raced = rival, taken, False

    def _lookup(self, hashes: dict[str, str]) -> dict[str, bytes]:
        found = super()._lookup(hashes)
        if not self.raced:
            self.raced = True
            self.rival.ensure(self.taken)
        return found


def test_keys_a_racing_writer_created_first_are_kept_not_replaced(db: Engine) -> None:
    rival = KeyStore(db, MASTER)
    store = _LateReader(db, MASTER, rival, ["b", "d"])
    keys = store.ensure(["a", "b", "c", "d"])
    assert set(keys) == {"a", "b", "c", "d"}
    assert {s: keys[s] for s in ("b", "d")} == rival.keys(["b", "d"])  # theirs, not a second key
    assert KeyStore(db, MASTER).keys(["a", "b", "c", "d"]) == keys


def test_a_forgotten_subject_among_many_new_ones_gets_no_key(db: Engine) -> None:
    store = KeyStore(db, MASTER)
    store.ensure(["gone"])
    assert store.forget("gone")
    with pytest.raises(KeyStoreError, match="1 subject\\(s\\) were forgotten"):
        store.ensure([f"n{i}" for i in range(1_200)] + ["gone"])
    assert store.keys([f"n{i}" for i in range(1_200)]) == {}  # refused before any key was made
