"""Service levels of contracts (ODCS ``slaProperties``, DCS ``servicelevels``) ↔ hexmesh SLOs.

What hexmesh checks continuously becomes an SLO of the port it applies to:

- ``latency`` → ``slo.timeliness`` (processing time minus event time; the element's column becomes
  the port's ``eventTime`` when it has none),
- ``frequency`` → ``slo.freshness`` (the newest snapshot is at most one period old),
- ``retention`` → ``slo.retention`` (every snapshot of the period stays readable),
- DCS ``freshness`` → ``slo.freshness``.

Availability, end-of-support dates and times of day describe the service, not the data: they are
kept as the contract wrote them and listed as not checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from hexmesh.spec.duration import parse_duration

__all__ = ["Levels", "duration_of", "odcs_levels", "slo_properties", "split_duration"]

_UNITS = {
    "s": "s",
    "sec": "s",
    "second": "s",
    "seconds": "s",
    "m": "m",
    "min": "m",
    "minute": "m",
    "minutes": "m",
    "h": "h",
    "hr": "h",
    "hour": "h",
    "hours": "h",
    "d": "d",
    "day": "d",
    "days": "d",
    "w": "w",
    "week": "w",
    "weeks": "w",
    "y": "y",
    "yr": "y",
    "year": "y",
    "years": "y",
}
_KEYS = {"latency": "timeliness", "frequency": "freshness", "retention": "retention", "freshness": "freshness"}


@dataclass
class Levels:
    """SLO keys per port (``None``: every port), event-time fields found, and what is not checked."""

    slos: dict[str | None, dict[str, str]] = field(default_factory=dict)
    event_times: dict[str, str] = field(default_factory=dict)
    unchecked: list[str] = field(default_factory=list)


def duration_of(value: Any, unit: Any) -> str | None:
    """``4`` and ``d`` → ``4d``; ``P1Y`` → ``P1Y``; None when it is not a duration."""
    text = f"{value}{_UNITS.get(str(unit).strip().lower(), str(unit))}" if unit is not None else str(value)
    try:
        parse_duration(text)
    except ValueError:
        return None
    return text


def odcs_levels(properties: list[Any], ports: dict[str, str], fields: dict[str, set[str]]) -> Levels:
    """SLOs from ODCS ``slaProperties``; ``ports`` maps schema names to port names."""
    found = Levels()
    for item in properties:
        if not isinstance(item, dict):
            continue
        name = str(item.get("property", ""))
        key = _KEYS.get(name)
        duration = duration_of(item.get("value"), item.get("unit")) if key else None
        if key is None or duration is None:
            found.unchecked.append(f"{name} {item.get('value')}{' ' + str(item['unit']) if item.get('unit') else ''}")
            continue
        table, _, column = str(item.get("element", "")).partition(".")
        port = ports.get(table) if table else None
        found.slos.setdefault(port, {}).setdefault(key, duration)
        if key == "timeliness" and column:
            for target in [port] if port else list(fields):
                if target is not None and column in fields.get(target, set()):
                    found.event_times.setdefault(target, column)
    return found


def split_duration(text: str) -> tuple[int | float, str]:
    """``3y`` → ``(3, "y")``; the largest unit that divides the duration exactly."""
    seconds = parse_duration(text).total_seconds()
    for unit, size in (("y", 365 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return int(seconds // size), unit
    return seconds if seconds % 1 else int(seconds), "s"


def slo_properties(port: str, event_time: str | None, slo: dict[str, Any]) -> list[dict[str, Any]]:
    """ODCS ``slaProperties`` of one port's SLO block (exported)."""
    found = []
    element = f"{port}.{event_time}" if event_time else port
    for name, key in (("latency", "timeliness"), ("frequency", "freshness"), ("retention", "retention")):
        text = slo.get(key)
        if text:
            value, unit = split_duration(text)
            found.append({"property": name, "value": value, "unit": unit, "element": element})
    return found


def days(text: str) -> timedelta:
    return parse_duration(text)
