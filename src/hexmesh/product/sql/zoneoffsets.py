"""From when every offset of a named time zone leaves one remainder by a unit (an hour, a minute): its TZif file.

Where that holds, a local hour (minute, second) starts where the instant plus that remainder is a
multiple of the unit, so
truncating an instant to it in that zone is integer arithmetic on the instant, also across
daylight saving changes (fixedzone.py). Most zones have such a time: Europe/Paris's offsets are
whole hours since 1911, when it left Paris Mean Time (+00:09:21), Australia/Adelaide's are
hours and a half (+09:30, +10:30); Australia/Lord_Howe's are not (+10:30, +11:00).

The file is the system's tz database (``zoneinfo.TZPATH``) or the ``tzdata`` package's, as Python's
``zoneinfo`` finds it; a zone whose file cannot be read or understood gets None (never), so the
engine's zone-aware functions answer.
"""

from __future__ import annotations

import re
import struct
import zoneinfo
from functools import cache
from importlib import resources
from pathlib import Path

__all__ = ["ALWAYS", "congruent_since"]

#: The instant (µs since the epoch) before every other: every offset was always a multiple.
ALWAYS = -(2**63)
_HEADER = struct.Struct(">4sc15x6l")
#: A POSIX TZ rule's offsets (``CET-1CEST,M3.5.0,M10.5.0/3``, ``<+0530>-5:30``): standard, then summer time.
_OFFSET = r"[+-]?\d+(?::\d+){0,2}"
_RULE = re.compile(rf"^(?:<[^>]*>|[A-Za-z]+)(?P<std>{_OFFSET})(?P<summer><[^>]*>|[A-Za-z]+)?(?P<dst>{_OFFSET})?(?:,|$)")


@cache
def congruent_since(zone: str, unit_seconds: int) -> tuple[int, int] | None:
    """The first instant (µs) from which every offset ``zone`` has, now and by its rule for the
    future, leaves one remainder by ``unit_seconds``, and that remainder (s): ``(ALWAYS, r)`` if
    they always did; None if not to this day (or the zone's file is not found or not understood)."""
    read = _read(zone)
    if read is None:
        return None
    initial, transitions, future = read
    remainders = {offset % unit_seconds for offset in future or [transitions[-1][1] if transitions else initial]}
    if len(remainders) != 1:
        return None
    remainder = remainders.pop()
    since = ALWAYS if initial % unit_seconds == remainder else None
    for at, offset in transitions:
        if offset % unit_seconds != remainder:
            since = None
        elif since is None:
            since = at * 1_000_000
    return None if since is None else (since, remainder)


def _read(zone: str) -> tuple[int, list[tuple[int, int]], list[int]] | None:
    """The offset before the first transition, each transition (s since the epoch, offset after it)
    and the offsets of the rule for after the last, of a TZif file (RFC 8536)."""
    data = _file(zone)
    if data is None or len(data) < _HEADER.size or data[:4] != b"TZif":
        return None
    try:
        version, counts = data[4], _HEADER.unpack_from(data)[2:]
        size = 4
        offset = 0
        if version >= ord("2"):  # skip the 32-bit block: the 64-bit one follows with its own header
            offset = _HEADER.size + _block(counts, 4)
            counts = _HEADER.unpack_from(data, offset)[2:]
            size = 8
        times, types = counts[3], counts[4]
        at = offset + _HEADER.size
        moments = struct.unpack_from(f">{times}{'q' if size == 8 else 'l'}", data, at)
        indexes = struct.unpack_from(f">{times}B", data, at + times * size)
        kinds = [struct.unpack_from(">lBB", data, at + times * (size + 1) + 6 * i)[0] for i in range(types)]
        transitions = [(moment, kinds[index]) for moment, index in zip(moments, indexes, strict=True)]
        future = _rule(data[offset + _HEADER.size + _block(counts, size) :]) if size == 8 else []
    except (struct.error, IndexError, ValueError):
        return None
    if future is None or not kinds:
        return None
    return kinds[0], transitions, future


def _block(counts: tuple[int, ...], size: int) -> int:
    isut, isstd, leap, times, types, chars = counts
    return times * size + times + types * 6 + chars + leap * (size + 4) + isstd + isut


def _rule(footer: bytes) -> list[int] | None:
    """The offsets (s east of UTC) of the footer's POSIX rule; [] when it has none, None if not understood."""
    text = footer.decode("ascii", "replace").strip("\n")
    if not text:
        return []
    match = _RULE.match(text)
    if match is None:
        return None
    std = -_seconds(match["std"])  # POSIX counts west of UTC
    if match["summer"] is None:
        return [std]
    return [std, -_seconds(match["dst"]) if match["dst"] else std + 3600]


def _seconds(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    parts = [int(p) for p in text.lstrip("+-").split(":")] + [0, 0]
    return sign * (parts[0] * 3600 + parts[1] * 60 + parts[2])


def _file(zone: str) -> bytes | None:
    if not zone or zone.startswith(("/", ".")) or ".." in zone:
        return None
    for root in zoneinfo.TZPATH:
        path = Path(root) / zone
        if path.is_file():
            return path.read_bytes()
    try:
        return resources.files("tzdata.zoneinfo").joinpath(zone).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return None
