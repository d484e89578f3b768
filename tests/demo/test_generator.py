"""The generator: deterministic bytes, consistent references, sizes that follow the scale."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.json as pjson
import pyarrow.parquet as pq
import pytest

from hexmesh.demo import generate_day
from hexmesh.demo.population import sizes

START = date(2026, 3, 1)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _generate(folder: Path, days: int, scale: float = 0.01, seed: int = 42) -> None:
    for offset in range(days):
        generate_day(folder, scale=scale, day=START + timedelta(days=offset), seed=seed, start=START)


def test_same_arguments_give_identical_bytes(tmp_path: Path) -> None:
    _generate(tmp_path / "a", 2)
    _generate(tmp_path / "b", 2)
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert sorted(first) == [
        "catalog/podcasts.parquet",
        "player_logs/2026-03-01.csv",
        "player_logs/2026-03-02.csv",
        "registrations/2026-03-01.jsonl",
        "registrations/2026-03-02.jsonl",
    ]
    assert first == second


def test_a_day_does_not_depend_on_the_days_generated_before_it(tmp_path: Path) -> None:
    _generate(tmp_path / "all", 2)
    alone = tmp_path / "alone"
    generate_day(alone, scale=0.01, day=START + timedelta(days=1), seed=42, start=START)
    assert _files(alone) == {k: v for k, v in _files(tmp_path / "all").items() if "03-02" in k or "catalog" in k}


def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    _generate(tmp_path / "a", 1, seed=1)
    _generate(tmp_path / "b", 1, seed=2)
    assert _files(tmp_path / "a")["player_logs/2026-03-01.csv"] != _files(tmp_path / "b")["player_logs/2026-03-01.csv"]


def test_every_play_refers_to_a_registered_user_and_a_catalog_podcast(tmp_path: Path) -> None:
    _generate(tmp_path, 3)
    users = pa.concat_tables(pjson.read_json(p) for p in sorted((tmp_path / "registrations").iterdir()))
    plays = pa.concat_tables(pcsv.read_csv(p) for p in sorted((tmp_path / "player_logs").iterdir()))
    catalog = pq.read_table(tmp_path / "catalog" / "podcasts.parquet")
    assert pc.all(pc.is_in(plays["listener_id"], users["user_id"])).as_py()
    assert pc.all(pc.is_in(plays["podcast_id"], catalog["podcast_id"])).as_py()
    assert pc.count_distinct(users["user_id"]).as_py() == users.num_rows


def test_plays_on_a_day_come_from_users_registered_before_it(tmp_path: Path) -> None:
    _generate(tmp_path, 2)
    day2 = pjson.read_json(tmp_path / "registrations" / "2026-03-02.jsonl")
    plays = pcsv.read_csv(tmp_path / "player_logs" / "2026-03-02.csv")
    assert not pc.any(pc.is_in(plays["listener_id"], day2["user_id"])).as_py()


def test_sizes_follow_the_scale(tmp_path: Path) -> None:
    small, large = tmp_path / "small", tmp_path / "large"
    day = generate_day(small, scale=0.01, day=START, seed=42)
    bigger = generate_day(large, scale=0.1, day=START, seed=42)
    expected = sizes(0.01)
    assert day.plays >= expected.plays_per_day  # plus the retried duplicates
    assert day.registrations == expected.initial_users + expected.new_users_per_day
    assert day.podcasts == expected.podcasts
    assert 9 <= bigger.plays / day.plays <= 11
    assert pcsv.read_csv(small / "player_logs" / f"{START}.csv").num_rows == day.plays


def test_player_logs_carry_retried_duplicates_and_sorted_times(tmp_path: Path) -> None:
    generate_day(tmp_path, scale=0.1, day=START, seed=42)
    plays = pcsv.read_csv(tmp_path / "player_logs" / f"{START}.csv")
    assert pc.count_distinct(plays["play_id"]).as_py() < plays.num_rows
    times = plays["played_at"].to_numpy()
    assert (times[1:] >= times[:-1]).all()


def test_popularity_is_skewed(tmp_path: Path) -> None:
    generate_day(tmp_path, scale=0.1, day=START, seed=42)
    plays = pcsv.read_csv(tmp_path / "player_logs" / f"{START}.csv")
    counts = sorted(pc.value_counts(plays["podcast_id"]).field("counts").to_pylist(), reverse=True)
    top_tenth = sum(counts[: len(counts) // 10])
    assert top_tenth > 0.4 * sum(counts)  # a few hits, a long tail


def test_no_temporary_files_are_left(tmp_path: Path) -> None:
    generate_day(tmp_path, scale=0.01, day=START, seed=42)
    assert not [p for p in tmp_path.rglob(".*")]


@pytest.mark.parametrize("scale", [0, -1.0])
def test_a_scale_that_is_not_positive_is_refused(tmp_path: Path, scale: float) -> None:
    with pytest.raises(ValueError, match="must be a positive number"):
        generate_day(tmp_path, scale=scale, day=START)


def test_a_day_before_the_start_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="before the first day"):
        generate_day(tmp_path, scale=0.01, day=START, start=START + timedelta(days=1))
