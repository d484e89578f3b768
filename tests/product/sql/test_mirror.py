"""The SQL port's local copies of remote data files: copied once, bounded, least recently used out."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pyarrow.fs as pafs

from hexmesh.product.sql.mirror import Mirror


def _remote(tmp_path: Path, sizes: dict[str, int]) -> tuple[pafs.FileSystem, list[str], list[str]]:
    source = tmp_path / "remote"
    source.mkdir()
    for name, size in sizes.items():
        (source / name).write_bytes(os.urandom(size))
    paths = [str(source / name) for name in sizes]
    return pafs.LocalFileSystem(), [f"s3://bucket/{n}" for n in sizes], paths


def test_files_are_copied_once_and_byte_for_byte(tmp_path: Path) -> None:
    filesystem, uris, paths = _remote(tmp_path, {"a.parquet": 1000, "b.parquet": 2000})
    mirror = Mirror(tmp_path / "cache", limit=10_000)
    copies = mirror.fetch(filesystem, uris, paths)
    assert copies is not None
    assert [Path(c).read_bytes() for c in copies] == [Path(p).read_bytes() for p in paths]
    Path(paths[0]).write_bytes(b"changed at the source")  # data files never change: the copy is kept
    assert mirror.fetch(filesystem, uris, paths) == copies
    assert Path(copies[0]).stat().st_size == 1000


def test_a_snapshot_larger_than_the_limit_is_not_copied(tmp_path: Path) -> None:
    filesystem, uris, paths = _remote(tmp_path, {"big.parquet": 5000})
    mirror = Mirror(tmp_path / "cache", limit=4000)
    assert mirror.fetch(filesystem, uris, paths) is None
    assert list((tmp_path / "cache").iterdir()) == []


def test_least_recently_used_copies_go_first(tmp_path: Path) -> None:
    filesystem, uris, paths = _remote(tmp_path, {"old.parquet": 3000, "used.parquet": 3000, "new.parquet": 3000})
    mirror = Mirror(tmp_path / "cache", limit=7000)
    old, used = (mirror.fetch(filesystem, [u], [p]) for u, p in zip(uris[:2], paths[:2], strict=True))
    assert old is not None and used is not None
    long_ago = time.time() - 3600
    os.utime(old[0], (long_ago, long_ago))
    os.utime(used[0], (long_ago + 10, long_ago + 10))
    assert mirror.present(used)  # a scan reusing it marks it used now
    new = mirror.fetch(filesystem, uris[2:], paths[2:])
    assert new is not None and Path(new[0]).exists()
    assert not Path(old[0]).exists() and Path(used[0]).exists()
    assert not mirror.present(old)
