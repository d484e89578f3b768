"""The demo's landing folder: where the operational systems drop files, and what is there.

A small manifest (``_demo.json``; sources skip files starting with ``_``) records the scale and
seed the files were generated with, the first day of history, which database holds the
registration service's table, and for each day when its runs
finished, so that running the demo again only adds the missing days and can still show what
an earlier day published.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from hexmesh.errors import HexmeshError

__all__ = ["CHART", "DayRecord", "Landing", "digest"]

MANIFEST = "_demo.json"
#: The port whose reads the manifest remembers: the daily chart.
CHART = "dp://podcasts/top-podcasts-daily/chart"


def digest(table: pa.Table) -> str:
    """A digest of a table's rows that does not depend on their order."""
    ordered = table.sort_by([(name, "ascending") for name in table.column_names])
    text = json.dumps(ordered.to_pylist(), default=str, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class DayRecord:
    """One generated and processed day."""

    day: str
    finished_at: str | None = None
    """When the day's runs had all finished (ISO 8601, UTC); None if they did not finish."""
    chart_digest: str = ""
    """A digest of the chart as read right after the day's runs, to compare later reads with."""


@dataclass
class Landing:
    """The landing folder of one workspace and its manifest."""

    folder: Path
    scale: float
    seed: int
    start: str | None = None
    days: list[DayRecord] = field(default_factory=list)
    registrations: str | None = None
    """Where the registration service's table is: ``sqlite`` or ``postgresql`` (set by the first demo)."""

    @classmethod
    def open(cls, folder: Path, *, scale: float, seed: int) -> Landing:
        """The landing folder's manifest; refuse data generated with other settings."""
        file = folder / MANIFEST
        if not file.is_file():
            return cls(folder, scale, seed)
        data: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
        if data["scale"] != scale or data["seed"] != seed:
            raise HexmeshError(
                f"{folder} holds demo data generated at scale {data['scale']} with seed "
                f"{data['seed']}, not scale {scale} with seed {seed}; run `hexmesh demo --scale "
                f"{data['scale']}` to continue it, or pass another --home for a new workspace"
            )
        known = {f.name for f in fields(DayRecord)}  # manifests of older demos may carry more
        days = [DayRecord(**{k: v for k, v in record.items() if k in known}) for record in data.get("days", [])]
        return cls(folder, scale, seed, data.get("start"), days, data.get("registrations"))

    @property
    def first_day(self) -> date | None:
        return date.fromisoformat(self.start) if self.start else None

    @property
    def last_day(self) -> date | None:
        return date.fromisoformat(self.days[-1].day) if self.days else None

    def record(self, day: date) -> DayRecord:
        """The record of ``day``, added (and the history's start set) if new."""
        for existing in self.days:
            if existing.day == day.isoformat():
                return existing
        self.start = self.start or day.isoformat()
        self.days.append(DayRecord(day.isoformat()))
        return self.days[-1]

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        data = {
            "scale": self.scale,
            "seed": self.seed,
            "start": self.start,
            "registrations": self.registrations,
            "days": [asdict(d) for d in self.days],
        }
        temporary = self.folder / f".{MANIFEST}.tmp"
        temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        temporary.replace(self.folder / MANIFEST)
