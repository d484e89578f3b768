"""The session's TimeZone: checked when it is set, and the zone results' instants are shown in.

PostgreSQL stores ``timestamptz`` as instants and prints them in the session's ``TimeZone``
(``2026-01-01 11:00:00+01`` in Europe/Berlin); the binary form stays UTC microseconds. It also
*computes* in that zone: ``ts::date``, ``date_trunc('day', ts)``, ``extract(hour from ts)``,
``to_char`` and ``ts::text`` give the local day and hour. The port does the same: the engine runs
each statement in the session's zone (``engine_zone``: DuckDB's ICU ``TimeZone``, fixed per
database, sql/databases.py), and results leave with their instants in that zone, which pgwire
prints as local time and offset.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import pyarrow as pa

from hexmesh.pgwire import PgError

__all__ = ["arrow_zone", "canonical_zone", "engine_zone", "in_zone"]

_UTC = {"utc", "etc/utc", "gmt", "etc/gmt", "z", "zulu", "universal", "etc/universal", "default", "local"}
_HOURS = re.compile(r"^[+-]?\d{1,2}(\.\d+)?$")
_POSIX = re.compile(r"^<[+-]\d{2}(\d{2})?>[+-]\d{2}(\d{2})?$")


def canonical_zone(value: str) -> str:
    """The setting as PostgreSQL stores, shows and reports it: ``UTC``, ``Europe/Berlin``, or for a
    number of hours east of UTC (``SET TIME ZONE -7``) its POSIX form ``<-07>+07``; 22023 for a zone
    it does not know."""
    text = value.strip().strip("'\"")
    if text.lower() in _UTC:
        return "UTC"
    if _HOURS.match(text):
        minutes = round(float(text) * 60)
        if minutes == 0:
            return "UTC"
        return f"<{_offset(minutes)}>{_offset(-minutes)}"
    if _POSIX.match(text):
        return text
    return _iana(text)


def arrow_zone(value: str) -> str | None:
    """The zone a (canonical) setting names, as Arrow spells it; None for UTC (nothing to convert)."""
    zone = canonical_zone(value)
    if zone == "UTC":
        return None
    if zone.startswith("<"):
        offset = zone[1 : zone.index(">")]
        return f"{offset[:3]}:{offset[3:] or '00'}"
    return zone


def engine_zone(value: str) -> str:
    """The zone a (canonical) setting names, as DuckDB's ICU spells it: a fixed offset is ``GMT-07:00``."""
    zone = arrow_zone(value)
    if zone is None:
        return "UTC"
    return f"GMT{zone}" if zone[0] in "+-" else zone


def _offset(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{rest:02d}" if rest else f"{sign}{hours:02d}"


def in_zone(schema: pa.Schema, zone: str | None) -> pa.Schema:
    """The schema with every instant column in ``zone`` (a change of metadata, not of values)."""
    if zone is None:
        return schema
    fields = [
        f.with_type(pa.timestamp(f.type.unit, tz=zone)) if pa.types.is_timestamp(f.type) and f.type.tz else f
        for f in schema
    ]
    return pa.schema(fields, metadata=schema.metadata)


def _iana(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        folded = {z.lower(): z for z in available_timezones()}.get(name.lower())
        if folded is None:
            raise PgError(
                "22023",
                f'invalid value for parameter "TimeZone": "{name}"',
                hint="Name a zone of pg_timezone_names (e.g. Europe/Berlin), UTC, or hours east of UTC (e.g. -7).",
            ) from None
        return folded
    return name
