"""The one bounded cache type: least recently used entries leave first, by count or by weight."""

from __future__ import annotations

import threading

import pytest

from hexmesh.cache import BoundedCache


def test_the_least_recently_used_entry_leaves_first() -> None:
    cache: BoundedCache[str, int] = BoundedCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "b" is now the least recently used
    cache.put("c", 3)
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c"), len(cache)) == (1, 3, 2)


def test_a_full_cache_forgets_one_entry_not_everything() -> None:
    cache: BoundedCache[int, int] = BoundedCache(1000)
    for i in range(1001):
        cache.put(i, i)
    assert len(cache) == 1000 and 0 not in cache and 1 in cache and 1000 in cache


def test_weights_bound_the_cache_and_an_entry_too_heavy_is_not_kept() -> None:
    cache: BoundedCache[str, bytes] = BoundedCache(10, weigh=len)
    cache.put("a", b"12345")
    cache.put("b", b"1234")
    cache.put("c", b"12")  # 11 bytes: "a" leaves
    assert "a" not in cache and cache.weight == 6
    cache.put("huge", b"x" * 11)
    assert "huge" not in cache and cache.weight == 6  # nothing else was pushed out for it
    cache.put("b", b"1")  # replacing an entry replaces its weight
    assert cache.weight == 3


def test_batches_and_pop_and_clear() -> None:
    cache: BoundedCache[str, int] = BoundedCache(3)
    cache.put_many({"a": 1, "b": 2})
    assert cache.get_many(["a", "b", "z"]) == {"a": 1, "b": 2}
    assert cache.get_or_put("c", lambda: 3) == 3
    assert cache.get_or_put("c", lambda: pytest.fail("made again")) == 3
    assert cache.pop("a") == 1 and cache.pop("a") is None and cache.weight == 2
    cache.clear()
    assert len(cache) == 0 and cache.weight == 0


def test_put_many_keeps_the_newest_and_refreshes_what_it_replaces() -> None:
    cache: BoundedCache[str, int] = BoundedCache(3)
    cache.put_many({"a": 1, "b": 2, "c": 3})
    cache.put_many({"a": 10, "d": 4})  # "a" is now recent: "b", the oldest, leaves
    assert "b" not in cache and cache.get_many(["a", "c", "d"]) == {"a": 10, "c": 3, "d": 4}
    assert cache.weight == 3
    cache.put_many({str(n): n for n in range(5)})  # more than the limit at once: the last three stay
    assert sorted(cache.get_many(["0", "1", "2", "3", "4"])) == ["2", "3", "4"] and cache.weight == 3


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one unit"):
        BoundedCache(0)


def test_threads_never_push_it_past_its_limit() -> None:
    cache: BoundedCache[tuple[int, int], int] = BoundedCache(50)

    def fill(worker: int) -> None:
        for i in range(2000):
            cache.put((worker, i), i)
            cache.get((worker, i - 1))

    threads = [threading.Thread(target=fill, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 50 and cache.weight == 50
