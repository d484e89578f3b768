"""Write one day of the podcast world's operational data, deterministically and fast.

Three operational systems feed the example mesh, each in its own format:

- the user registration service: JSON lines, ``registrations/<day>.jsonl``;
- the podcast player's logs: CSV, ``player_logs/<day>.csv`` (with the odd retried duplicate);
- the catalog service's nightly export: Parquet, ``catalog/podcasts.parquet`` (overwritten).

The same (scale, day, seed, start) always gives byte-identical files: entity attributes are
hashes of their index (:mod:`hexmesh.demo.population`) and each day's events come from a random
generator seeded by (seed, day). Everything is vectorised with numpy and pyarrow.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from hexmesh.demo.population import (
    CATEGORIES,
    COUNTRIES,
    DEVICES,
    F64,
    I64,
    LANGUAGES,
    PLANS,
    PLATFORMS,
    Podcasts,
    Sizes,
    Users,
    categorical,
    labels,
    podcast_ids,
    sizes,
    uniform,
    user_ids,
)

__all__ = ["GeneratedDay", "generate_day"]

#: Share of plays per hour of the day (UTC): a commute peak and an evening peak.
_HOURLY = np.array(
    [1, 0.6, 0.4, 0.3, 0.3, 0.6, 2, 4.5, 5.5, 4, 3.5, 3.5,
     4, 3.8, 3.5, 3.6, 4.2, 5.2, 5.8, 6, 6, 5, 3.5, 2]
)  # fmt: skip
_FAVOURITE_SHARE = 0.6  # most plays are a listener's usual shows
_DUPLICATE_SHARE = 0.002  # the player retries an upload now and then
_TRAVEL_SHARE = 0.03  # plays from abroad: geo-IP country differs from the home country
_MEDIAN_SECONDS = 900.0
_JSON_SLICE = 100_000


@dataclass(frozen=True)
class GeneratedDay:
    """What :func:`generate_day` wrote."""

    day: date
    files: list[Path] = field(default_factory=list)
    registrations: int = 0
    plays: int = 0
    podcasts: int = 0


def generate_day(folder: Path, *, scale: float, day: date, seed: int = 42, start: date | None = None) -> GeneratedDay:
    """Write ``day``'s registrations, player logs and catalog export under ``folder``.

    ``start`` is the first day of the world's recorded history (default: ``day``): its
    registration file also carries the users who registered before it (the registration
    service's initial export), and plays on any day come only from users registered earlier,
    so every play refers to a user some registration file holds.
    """
    start = start or day
    if day < start:
        raise ValueError(f"day {day} is before the first day {start}")
    size = sizes(scale)
    users, podcasts = Users(seed), Podcasts(seed, size.podcasts)
    offset = (day - start).days
    folder.mkdir(parents=True, exist_ok=True)
    registrations = _registrations(users, size, day, offset)
    catalog = _catalog(podcasts, day)
    # Users and podcasts land before the plays that refer to them.
    written = [
        _write_json_lines(folder / "registrations" / f"{day}.jsonl", registrations),
        _write_parquet(folder / "catalog" / "podcasts.parquet", catalog),
    ]
    logs, plays = _write_csv(folder / "player_logs" / f"{day}.csv", _plays(users, podcasts, size, day, offset, seed))
    written.append(logs)
    return GeneratedDay(day, written, registrations.num_rows, plays, catalog.num_rows)


def _day_start(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def _seconds_in_day(rng: np.random.Generator, n: int) -> I64:
    hours = rng.choice(24, size=n, p=_HOURLY / _HOURLY.sum())
    return (hours * 3600 + rng.integers(0, 3600, size=n)).astype(np.int64)


def _registrations(users: Users, size: Sizes, day: date, offset: int) -> pa.Table:
    """Registration events of ``day``; on the first day, preceded by every earlier user."""
    rng = np.random.default_rng([users.seed, day.toordinal(), 1])
    first = 0 if offset == 0 else size.initial_users + offset * size.new_users_per_day
    last = size.initial_users + (offset + 1) * size.new_users_per_day
    index = np.arange(first, last, dtype=np.int64)
    today = _seconds_in_day(rng, len(index))
    # Users of the initial export registered at some point in the three years before start.
    before = index < size.initial_users
    history = -rng.integers(86_400, 3 * 365 * 86_400, size=len(index))
    seconds = _day_start(day) + np.where(before, history, today)
    order = np.argsort(seconds, kind="stable")
    index, seconds = index[order], seconds[order]
    years, known = users.birth_year(index)
    return pa.table(
        {
            "event_id": pc.binary_join_element_wise("reg-", user_ids(index), ""),
            "event_type": pa.repeat("user_registered", len(index)),
            "user_id": user_ids(index),
            "registered_at": pa.array(seconds, pa.timestamp("s", tz="UTC")),
            "email": pc.binary_join_element_wise("listener", pc.cast(pa.array(index), pa.string()), "@example.com", ""),
            "birth_year": pa.array(years, mask=~known),
            "country": labels(users.country(index), COUNTRIES),
            "plan": labels(users.plan(index), PLANS),
            "platform": labels(users.platform(index), PLATFORMS),
            "marketing_opt_in": pa.array(users.opt_in(index)),
        }
    )


@dataclass(frozen=True)
class _Day:
    """What every hour of a day's plays shares: who can listen, and today's charts."""

    users: Users
    podcasts: Podcasts
    day: date
    seed: int
    listeners: F64
    """Cumulative listening activity of the users registered before the day began."""
    charts: F64
    """Cumulative popularity of the podcasts today (their popularity with daily noise)."""


def _plays(users: Users, podcasts: Podcasts, size: Sizes, day: date, offset: int, seed: int) -> Iterator[pa.Table]:
    """Player log lines of ``day`` in time order, an hour at a time (memory stays small)."""
    rng = np.random.default_rng([seed, day.toordinal(), 2])
    weekend = day.weekday() >= 5
    n = round(size.plays_per_day * (1.1 if weekend else 1.0))
    eligible = size.initial_users + offset * size.new_users_per_day
    noisy = podcasts.weights * rng.lognormal(0.0, 0.35, size=podcasts.count)
    shared = _Day(
        users,
        podcasts,
        day,
        seed,
        np.cumsum(users.activity(np.arange(eligible, dtype=np.int64))),
        np.cumsum(noisy) / noisy.sum(),
    )
    first = day.year * 10**13 + day.month * 10**11 + day.day * 10**9
    for hour, count in enumerate(rng.multinomial(n, _HOURLY / _HOURLY.sum())):
        yield _hour(shared, hour, int(count), first)
        first += int(count)


def _hour(shared: _Day, hour: int, n: int, first_id: int) -> pa.Table:
    """The plays starting in one hour, each hour with its own random stream."""
    users, podcasts, day = shared.users, shared.podcasts, shared.day
    rng = np.random.default_rng([shared.seed, day.toordinal(), 3, hour])
    seconds = np.sort(hour * 3600 + rng.integers(0, 3600, size=n))
    eligible = len(shared.listeners)
    draw = rng.random(n) * shared.listeners[-1]
    listener = np.minimum(np.searchsorted(shared.listeners, draw, side="right"), eligible - 1)
    # Favourites follow popularity; the rest follows today's charts.
    favourite = users.favourite(listener, rng.integers(0, 3, size=n), podcasts)
    charts = np.searchsorted(shared.charts, rng.random(n), side="right")
    other = np.minimum(charts, podcasts.count - 1)
    podcast = np.where(rng.random(n) < _FAVOURITE_SHARE, favourite, other).astype(np.int64)
    length = podcasts.episode_minutes(podcast) * 60
    played = np.minimum(np.round(rng.lognormal(np.log(_MEDIAN_SECONDS), 1.1, size=n)), length)
    episode = np.maximum(1, podcasts.episodes(podcast, day) - rng.geometric(0.45, size=n) + 1)
    device = np.where(rng.random(n) < 0.85, users.device(listener), categorical(rng.random(n), DEVICES))
    country = np.where(
        rng.random(n) < _TRAVEL_SHARE,
        categorical(rng.random(n), COUNTRIES),
        users.country(listener),
    )
    # Retried uploads repeat a line verbatim, right after the original.
    again = rng.choice(n, size=int(n * _DUPLICATE_SHARE), replace=False)
    rows = np.sort(np.concatenate([np.arange(n), again]), kind="stable")
    table = pa.table(
        {
            "play_id": pa.array(first_id + np.arange(n, dtype=np.int64)),
            "played_at": pa.array(_day_start(day) + seconds, pa.timestamp("s", tz="UTC")),
            "listener_id": user_ids(listener),
            "podcast_id": podcast_ids(podcast),
            "episode": pa.array(episode),
            "device": labels(device, DEVICES),
            "country": labels(country, COUNTRIES),
            "ip_address": _ip_addresses(listener, day, shared.seed),
            "seconds_played": pa.array(played.astype(np.int64)),
        }
    )
    return table.take(pa.array(rows))


def _ip_addresses(listener: I64, day: date, seed: int) -> pa.Array:
    """A listener's address for the day (ISPs reassign them), from the documentation ranges."""
    host = np.floor(uniform(listener * 7919 + day.toordinal(), seed, 300) * 65_536).astype(np.int64)
    nets = np.array(["198.51", "203.0", "192.0"])[listener % 3]
    return pc.binary_join_element_wise(
        pa.array(nets),
        pc.cast(pa.array(host // 256), pa.string()),
        pc.cast(pa.array(host % 256), pa.string()),
        ".",
    )


def _catalog(podcasts: Podcasts, day: date) -> pa.Table:
    index = np.arange(podcasts.count, dtype=np.int64)
    return pa.table(
        {
            "podcast_id": podcast_ids(index),
            "title": podcasts.title(index),
            "publisher": podcasts.publisher(index),
            "category": labels(podcasts.category(index), CATEGORIES),
            "language": labels(podcasts.language(index), LANGUAGES),
            "explicit": pa.array(podcasts.explicit(index)),
            "launched_on": pa.array(podcasts.launched_on(index).astype(np.int32), pa.date32()),
            "episode_count": pa.array(podcasts.episodes(index, day)),
            "episode_minutes": pa.array(podcasts.episode_minutes(index)),
        }
    )


def _replace(path: Path) -> Path:
    """The temporary name to write ``path`` under; a dot-file, which sources never read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.tmp")


def _commit(temporary: Path, path: Path) -> Path:
    # Readers must never see half a file: they would read it once and skip it forever.
    os.replace(temporary, path)
    return path


def _write_csv(path: Path, tables: Iterable[pa.Table]) -> tuple[Path, int]:
    """Write ``tables`` one after the other as one CSV file; the path and the rows written."""
    temporary, rows = _replace(path), 0
    writer: pcsv.CSVWriter | None = None
    for table in tables:
        if writer is None:
            options = pcsv.WriteOptions(quoting_style="needed")
            writer = pcsv.CSVWriter(temporary, table.schema, write_options=options)
        writer.write_table(table)
        rows += table.num_rows
    if writer is not None:
        writer.close()
    return _commit(temporary, path), rows


def _write_parquet(path: Path, table: pa.Table) -> Path:
    temporary = _replace(path)
    pq.write_table(table, temporary, compression="zstd")
    return _commit(temporary, path)


def _write_json_lines(path: Path, table: pa.Table) -> Path:
    """JSON lines built with Arrow string kernels (no Python loop over rows)."""
    parts: list[pa.Array | str] = []
    for name in table.column_names:
        column = table.column(name).combine_chunks()
        parts.append(f'{"," if parts else "{"}"{name}":')
        parts.append(_json_value(column))
    parts.append("}\n")
    lines = pc.binary_join_element_wise(*parts, "")
    temporary = _replace(path)
    with temporary.open("wb") as out:
        # In slices, so no single string passes Arrow's 2 GiB limit.
        for first in range(0, len(lines), _JSON_SLICE):
            piece = lines.slice(first, _JSON_SLICE)
            joined = pc.binary_join(pa.ListArray.from_arrays([0, len(piece)], piece), "")
            out.write(joined[0].as_buffer())
    return _commit(temporary, path)


def _json_value(column: pa.Array) -> pa.Array:
    """Column values as JSON text; our strings need no escaping (generated from word lists)."""
    if pa.types.is_timestamp(column.type):
        text = pc.binary_join_element_wise('"', pc.strftime(column, format="%Y-%m-%dT%H:%M:%SZ"), '"', "")
    elif pa.types.is_string(column.type):
        text = pc.binary_join_element_wise('"', column, '"', "")
    elif pa.types.is_boolean(column.type):
        text = pc.if_else(column, "true", "false")
    else:
        text = pc.cast(column, pa.string())
    return pc.fill_null(text, "null")
