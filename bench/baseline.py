"""The example mesh done by hand: the same SQL on plain DuckDB, reading files, writing Parquet.

This is what a team would write without hexmesh: no schema conformance, no quality gate, no
snapshots or publication log. It is the yardstick for the publish benchmark.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import duckdb

__all__ = ["ORDER", "run_day"]

#: Products in dependency order, with their output port.
ORDER = [
    ("podcasts/play-events", "plays"),
    ("users/user-profiles", "profiles"),
    ("podcasts/listener-demographics", "daily"),
    ("podcasts/podcast-catalog", "podcasts"),
    ("podcasts/top-podcasts-daily", "chart"),
]

# The catalog's transformation is Python in the mesh; here the same rule is SQL.
_CATALOG_SQL = """
select *, regexp_replace(lower(regexp_replace(title, '^The ', '')), '[^a-z0-9]+', '-', 'g')
          || '-' || podcast_id as slug
from catalog_export
"""


def _q(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _inputs(landing: Path, out: Path, day: date) -> dict[str, dict[str, str]]:
    """Per product, each input port as a relation over the day's files or upstream outputs."""
    plays = f"read_parquet({_q(out / 'podcasts/play-events/plays' / f'{day}.parquet')})"
    catalog = out / "podcasts/podcast-catalog/podcasts" / f"{day}.parquet"
    return {
        "podcasts/play-events": {
            "player_logs": f"read_csv({_q(landing / 'player_logs' / f'{day}.csv')})"
        },
        "users/user-profiles": {
            "registrations": f"read_json({_q(landing / 'registrations' / f'{day}.jsonl')})"
        },
        "podcasts/listener-demographics": {
            "plays": plays,
            "profiles": f"read_parquet({_q(out / 'users/user-profiles/profiles' / '*.parquet')})",
        },
        "podcasts/podcast-catalog": {
            "catalog_export": f"read_parquet({_q(landing / 'catalog' / 'podcasts.parquet')})"
        },
        "podcasts/top-podcasts-daily": {
            "plays": plays,
            "catalog": f"read_parquet({_q(catalog)})",
        },
    }


def run_day(mesh: Path, landing: Path, out: Path, day: date) -> dict[str, float]:
    """Run every product for ``day``; seconds per product."""
    timings: dict[str, float] = {}
    inputs = _inputs(landing, out, day)
    for key, port in ORDER:
        started = time.perf_counter()
        folder = mesh / key
        sql = (
            _CATALOG_SQL
            if key == "podcasts/podcast-catalog"
            else (folder / "transform.sql").read_text(encoding="utf-8")
        )
        target = out / key / port / f"{day}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect()
        try:
            for name, relation in inputs[key].items():
                con.execute(f"create view {name} as select * from {relation}")
            con.execute(f"copy ({sql}) to {_q(target)} (format parquet, compression zstd)")
        finally:
            con.close()
        timings[key] = time.perf_counter() - started
    return timings
