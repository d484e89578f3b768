"""The pinned-Parquet cache: bounded by a setting, least recently used files go first, nothing is lost."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hexmesh.errors import WorkspaceError
from hexmesh.infra.settings import Settings
from tests.server.nodes import RunningNode, build_workspace, serve

SHOP = "/products/sales/shop/ports/orders"


@pytest.fixture(scope="module")
def small_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    """A node whose files cache may hold nothing it has not used in the last minute."""
    home, _ = build_workspace(tmp_path_factory.mktemp("cache"), big=False)
    (home / "settings.yaml").write_text("files_cache_mb: 0\n")
    with serve(home) as running:
        yield running


def _cached(home: Path) -> set[str]:
    return {p.name for p in (home / "cache" / "files").glob("*.parquet")}


def test_least_recently_used_files_are_evicted_and_rebuilt_on_demand(small_cache: RunningNode) -> None:
    with small_cache.client() as http:
        snapshot = http.get(f"{SHOP}/snapshots").json()[-1]["snapshot_id"]
        url = f"{SHOP}/snapshots/{snapshot}/data"
        first = http.get(url, params={"columns": "order_id"})
        (old,) = _cached(small_cache.home)
        # As if the first download were used an hour ago: it is now the least recently used.
        hour_ago = time.time() - 3600
        os.utime(small_cache.home / "cache" / "files" / old, (hour_ago, hour_ago))
        http.get(url, params={"columns": "amount"}).raise_for_status()
        after = _cached(small_cache.home)
        again = http.get(url, params={"columns": "order_id"})
    assert old not in after and len(after) == 1  # over the bound: the old file went
    # Eviction loses nothing: the same request gives the same bytes and ETag again.
    assert again.status_code == first.status_code == 200
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]


def test_a_recently_used_file_is_kept_even_over_the_bound(small_cache: RunningNode) -> None:
    with small_cache.client() as http:
        snapshot = http.get(f"{SHOP}/snapshots").json()[-1]["snapshot_id"]
        url = f"{SHOP}/snapshots/{snapshot}/data"
        http.get(url, params={"columns": "status"}).raise_for_status()
        http.get(url, params={"columns": "customer_id"}).raise_for_status()
    # Both were used within the last minute: a response may still be opening either one.
    assert len(_cached(small_cache.home)) >= 2


def test_the_cache_size_comes_from_settings_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.load(tmp_path).files_cache_bytes == 1024 * 1024 * 1024
    (tmp_path / "settings.yaml").write_text("files_cache_mb: 64\n")
    assert Settings.load(tmp_path).files_cache_bytes == 64 * 1024 * 1024
    monkeypatch.setenv("HEXMESH_FILES_CACHE_MB", "8")
    assert Settings.load(tmp_path).files_cache_mb == 8


@pytest.mark.parametrize("value", ["lots", "-5", "1.5"])
def test_a_bad_cache_size_is_a_clear_error(tmp_path: Path, value: str) -> None:
    (tmp_path / "settings.yaml").write_text(f"files_cache_mb: {value!r}\n")
    says = r"files_cache_mb in .*settings.yaml is '.*', not a whole number.*Megabytes of pinned Parquet"
    with pytest.raises(WorkspaceError, match=says):
        Settings.load(tmp_path)
    # Nothing was written or lost: the file is as the user left it.
    assert (tmp_path / "settings.yaml").read_text() == f"files_cache_mb: {value!r}\n"
