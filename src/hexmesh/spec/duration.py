"""Durations as people write them in specs: ``30s``, ``15m``, ``2h``, ``1d``, ``1w``, ``1y`` or ISO 8601.

A year is 365 days and an ISO month 30 days: durations here are promises (retention, freshness),
not calendar arithmetic.
"""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["format_duration", "human_seconds", "parse_duration"]

_SIMPLE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w|y)\s*$")
_ISO = re.compile(
    r"^P(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 365 * 86400}


def parse_duration(text: str) -> timedelta:
    """Parse ``2h`` / ``1d`` / ``P1DT2H``; raise ValueError with the accepted forms."""
    simple = _SIMPLE.match(text)
    if simple:
        return timedelta(seconds=float(simple.group(1)) * _UNIT_SECONDS[simple.group(2)])
    iso = _ISO.match(text.strip().upper())
    if iso and any(iso.groupdict().values()):
        parts = {k: float(v) if v else 0.0 for k, v in iso.groupdict().items()}
        days = parts["d"] + 365 * parts["y"] + 30 * parts["mo"]
        return timedelta(weeks=parts["w"], days=days, hours=parts["h"], minutes=parts["m"], seconds=parts["s"])
    raise ValueError(
        f"{text!r} is not a duration; write a number and a unit such as 30s, 15m, 2h, 1d, 1w, 1y "
        "(or ISO 8601 like P1DT2H)"
    )


def format_duration(value: timedelta) -> str:
    """Render a duration in the largest unit that divides it exactly (``1d``, ``90m``)."""
    seconds = value.total_seconds()
    for unit in ("y", "w", "d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def human_seconds(seconds: float) -> str:
    """A duration as people read it: its two largest units (``1d``, ``4h 18m``, ``35s``, ``-2m 5s``)."""
    sign, left = ("-" if seconds < 0 else ""), round(abs(seconds))
    if left < 60:
        return f"{sign}{abs(seconds):.0f}s" if abs(seconds) >= 1 or seconds == 0 else f"{sign}{abs(seconds):.1f}s"
    parts: list[str] = []
    for unit in ("d", "h", "m", "s"):
        size = _UNIT_SECONDS[unit]
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
        elif parts:
            break  # 1d 0h would say nothing: stop at the first empty unit after the largest
        if len(parts) == 2:
            break
    return sign + " ".join(parts)
