"""The search vocabulary: exact and prefix look-up, and spelling neighbours for typos."""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable

__all__ = ["Vocabulary", "edit_distance"]


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Optimal-string-alignment distance (a swap of neighbours counts once), capped at ``limit``."""
    if abs(len(a) - len(b)) >= limit:
        return limit
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) >= limit:
            return limit
        before, previous = previous, current
    return min(previous[-1], limit)


def _grams(word: str) -> set[str]:
    padded = f"^{word}$"
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


class Vocabulary:
    """Every word in the index, with how many times it was added."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._sorted: list[str] = []
        self._dirty = False
        self._grams: dict[str, set[str]] = {}

    def __contains__(self, word: object) -> bool:
        return word in self._counts

    def add(self, words: Iterable[str]) -> None:
        for word in words:
            if word not in self._counts:
                self._dirty = True
                for gram in _grams(word):
                    self._grams.setdefault(gram, set()).add(word)
            self._counts[word] += 1

    def starting(self, prefix: str, most: int) -> list[str]:
        """Up to ``most`` known words starting with ``prefix``, the most frequent first."""
        if self._dirty:
            self._sorted, self._dirty = sorted(self._counts), False
        at = bisect.bisect_left(self._sorted, prefix)
        found = []
        while at < len(self._sorted) and self._sorted[at].startswith(prefix):
            found.append(self._sorted[at])
            at += 1
        return sorted(found, key=lambda w: -self._counts[w])[:most]

    def similar(self, word: str, most: int = 3) -> list[str]:
        """The closest known words (1 edit for short words, 2 for longer), most frequent first."""
        if len(word) < 3:
            return []
        limit = 1 if len(word) <= 4 else 2
        shared: Counter[str] = Counter()
        for gram in _grams(word):
            for known in self._grams.get(gram, ()):
                if abs(len(known) - len(word)) <= limit:
                    shared[known] += 1
        scored = []
        for known, _ in shared.most_common(200):
            distance = edit_distance(word, known, limit + 1)
            if distance <= limit:
                scored.append((distance, -self._counts[known], known))
        scored.sort()
        best = [s for s in scored if s[0] == scored[0][0]] if scored else []
        return [known for _, _, known in best[:most]]
