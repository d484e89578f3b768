"""Who exists in the demo world: listeners and podcasts, each a pure function of its index.

Every attribute of user ``i`` or podcast ``j`` comes from a hash of (seed, index, attribute),
not from a random stream, so the registration file, the player logs and the catalog agree
on a listener's country or a podcast's episode length without reading each other, and any
day can be generated alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from math import sqrt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

__all__ = [
    "CATEGORIES",
    "COUNTRIES",
    "DEVICES",
    "Sizes",
    "categorical",
    "podcast_ids",
    "sizes",
    "uniform",
    "user_ids",
]

U64 = NDArray[np.uint64]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

COUNTRIES: dict[str, float] = {
    "US": 0.28, "GB": 0.08, "DE": 0.08, "FR": 0.05, "ES": 0.04, "SE": 0.03, "NL": 0.03,
    "BR": 0.08, "MX": 0.05, "AR": 0.02, "IN": 0.09, "JP": 0.04, "AU": 0.04, "CA": 0.05,
    "NG": 0.02, "ZA": 0.02,
}  # fmt: skip
DEVICES: dict[str, float] = {
    "ios": 0.38, "android": 0.40, "web": 0.12, "smart_speaker": 0.06, "car": 0.04,
}  # fmt: skip
PLANS: dict[str, float] = {"free": 0.72, "premium": 0.25, "family": 0.03}
PLATFORMS: dict[str, float] = {"ios": 0.42, "android": 0.44, "web": 0.14}
CATEGORIES: dict[str, float] = {
    "News": 0.12, "Comedy": 0.12, "True Crime": 0.10, "Society & Culture": 0.09, "Business": 0.08,
    "Sports": 0.07, "Health & Fitness": 0.06, "Education": 0.06, "Technology": 0.06,
    "History": 0.05, "Music": 0.04, "Kids & Family": 0.04, "Science": 0.04, "Fiction": 0.04,
    "Arts": 0.03,
}  # fmt: skip
LANGUAGES: dict[str, float] = {
    "en": 0.60, "es": 0.12, "pt": 0.08, "de": 0.07, "fr": 0.06, "ja": 0.04, "sv": 0.03,
}  # fmt: skip
_ADJECTIVES = [
    "Daily", "Curious", "Hidden", "Modern", "Lazy", "Bright", "Quiet", "Wild", "Honest",
    "Deep", "Little", "Late", "Open", "Brave", "Weekly", "Urban", "Cosmic", "Simple",
]  # fmt: skip
_NOUNS = [
    "Mind", "History", "Money", "Kitchen", "Science", "Planet", "Detective", "Football",
    "Startup", "Garden", "Story", "Code", "Comedy", "Health", "Mystery", "World", "Music",
    "Parent", "Crime", "Future",
]  # fmt: skip
_FORMATS = ["Podcast", "Show", "Hour", "Club", "Talk", "Files", "Diaries", "Radio"]
_POPULARITY_EXPONENT = 0.85  # Zipf-like: a few hits, a long tail (top show ~7% of plays)
_EPOCH = date(2020, 1, 1)  # podcasts launch in the five years after this date


@dataclass(frozen=True)
class Sizes:
    """How big the world is at a scale factor (SF1 ≈ 1M play events over two days)."""

    initial_users: int
    new_users_per_day: int
    podcasts: int
    plays_per_day: int


def sizes(scale: float) -> Sizes:
    """Sizes for ``scale``; podcasts grow slower than listeners, as in real catalogs."""
    if not scale > 0:
        raise ValueError(f"scale {scale!r} must be a positive number, for example 0.1 or 1")
    return Sizes(
        initial_users=max(200, round(100_000 * scale)),
        new_users_per_day=max(5, round(1_000 * scale)),
        podcasts=max(50, round(3_000 * sqrt(scale))),
        plays_per_day=max(500, round(500_000 * scale)),
    )


def _mix(x: U64) -> U64:
    """SplitMix64's finaliser, vectorised: a fast, well-spread 64-bit hash."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def uniform(index: I64, seed: int, salt: int) -> F64:
    """A uniform [0, 1) value per index, fixed by (seed, salt): one attribute of an entity."""
    key = np.uint64((seed * 0x100000001B3 + salt * 0x9E3779B1) % 2**64)
    hashed = _mix(_mix(index.astype(np.uint64) ^ key) + key)
    return (hashed >> np.uint64(11)).astype(np.float64) * 2.0**-53


def categorical(u: F64, weights: dict[str, float]) -> I64:
    """Indices into ``weights`` drawn by inverse CDF from uniforms ``u``."""
    cdf = np.cumsum(np.array(list(weights.values())))
    return np.minimum(np.searchsorted(cdf / cdf[-1], u, side="right"), len(weights) - 1).astype(np.int64)


def labels(indices: I64, weights: dict[str, float]) -> pa.Array:
    """The names for categorical indices, as an Arrow string array."""
    return pa.array(list(weights)).take(pa.array(indices))


def _prefixed(prefix: str, index: I64, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(index), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def user_ids(index: I64) -> pa.Array:
    return _prefixed("u", index, 8)


def podcast_ids(index: I64) -> pa.Array:
    return _prefixed("p", index, 6)


class Users:
    """Attributes of listeners, by index (0 is the first user ever registered)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def _u(self, index: I64, salt: int) -> F64:
        return uniform(index, self.seed, 100 + salt)

    def country(self, index: I64) -> I64:
        return categorical(self._u(index, 1), COUNTRIES)

    def birth_year(self, index: I64) -> tuple[I64, NDArray[np.bool_]]:
        """Birth years skewed young (1958–2010), and whether the user gave one at all."""
        years = 2010 - np.floor(53 * self._u(index, 2) ** 1.6).astype(np.int64)
        return years, self._u(index, 3) >= 0.06

    def plan(self, index: I64) -> I64:
        return categorical(self._u(index, 4), PLANS)

    def platform(self, index: I64) -> I64:
        return categorical(self._u(index, 5), PLATFORMS)

    def device(self, index: I64) -> I64:
        return categorical(self._u(index, 6), DEVICES)

    def activity(self, index: I64) -> F64:
        """Relative listening volume: Pareto-distributed, so a few listeners play a lot."""
        return np.minimum((1.0 - self._u(index, 7)) ** (-1 / 1.4), 60.0)

    def opt_in(self, index: I64) -> NDArray[np.bool_]:
        return self._u(index, 8) < 0.35

    def favourite(self, index: I64, slot: I64, podcasts: Podcasts) -> I64:
        """One of the user's three favourite shows (chosen by overall popularity)."""
        return podcasts.by_popularity(uniform(index * 3 + slot, self.seed, 150))


class Podcasts:
    """Attributes of podcasts, by index, for a catalog of ``count`` shows."""

    def __init__(self, seed: int, count: int) -> None:
        self.seed = seed
        self.count = count
        index = np.arange(count, dtype=np.int64)
        # Popularity rank is a hash order, so show p000000 is not always the hit.
        rank = np.argsort(np.argsort(uniform(index, seed, 200), kind="stable"), kind="stable")
        self.weights: F64 = np.power(rank + 1.0, -_POPULARITY_EXPONENT, dtype=np.float64)
        self._cdf = np.cumsum(self.weights) / self.weights.sum()

    def _u(self, index: I64, salt: int) -> F64:
        return uniform(index, self.seed, 200 + salt)

    def by_popularity(self, u: F64) -> I64:
        """Podcasts drawn with probability proportional to their popularity."""
        return np.minimum(np.searchsorted(self._cdf, u, side="right"), self.count - 1).astype(np.int64)

    def episode_minutes(self, index: I64) -> I64:
        return (15 + np.floor(75 * self._u(index, 1) ** 1.5)).astype(np.int64)

    def launched_on(self, index: I64) -> I64:
        """Launch dates as days since 1970-01-01, spread over 2020–2024."""
        return _EPOCH.toordinal() - date(1970, 1, 1).toordinal() + np.floor(1800 * self._u(index, 2)).astype(np.int64)

    def episodes(self, index: I64, day: date) -> I64:
        """Episodes published by ``day``: one per cadence (daily to fortnightly) since launch."""
        cadence = np.array([1, 3, 7, 7, 14])[categorical(self._u(index, 3), dict.fromkeys("abcde", 1.0))]
        today = day.toordinal() - date(1970, 1, 1).toordinal()
        episodes: I64 = np.maximum(1, (today - self.launched_on(index)) // cadence + 1)
        return episodes

    def category(self, index: I64) -> I64:
        return categorical(self._u(index, 4), CATEGORIES)

    def language(self, index: I64) -> I64:
        return categorical(self._u(index, 5), LANGUAGES)

    def explicit(self, index: I64) -> NDArray[np.bool_]:
        return self._u(index, 6) < 0.08

    def title(self, index: I64) -> pa.Array:
        """Titles like "The Curious Kitchen Show" (not unique; neither are real ones)."""
        words = [
            pa.array(options).take(pa.array(np.floor(self._u(index, 7 + n) * len(options)).astype(np.int64)))
            for n, options in enumerate((_ADJECTIVES, _NOUNS, _FORMATS))
        ]
        return pc.binary_join_element_wise("The", *words, " ")

    def publisher(self, index: I64) -> pa.Array:
        studios = np.floor(self._u(index, 11) * max(5, self.count // 8)).astype(np.int64)
        return pc.binary_join_element_wise(
            pa.array(_NOUNS).take(pa.array(studios % len(_NOUNS))),
            pc.cast(pa.array(studios), pa.string()),
            " Studios ",
        )
