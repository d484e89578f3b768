"""Local days and hours in a fixed-offset zone are integer arithmetic (sql/fixedzone.py): answered as PostgreSQL does.

The instants lie on the edges that matter: daylight saving changes (where only the truncation to
an hour or less may be arithmetic, and only in zones whose offsets are whole hours), days and
weeks that start at another instant in UTC, +05:30 and -7, instants before 1970, the last
microsecond of a day, and NULL. PostgreSQL on this
machine answers the same statements over the same rows (the oracle).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

import duckdb
import psycopg
import pyarrow as pa
import pytest

from hexmesh.infra.settings import Settings
from hexmesh.lifecycle import Workspace
from hexmesh.product.sql import start_sql_port
from hexmesh.product.sql.catalog import PortTable
from hexmesh.product.sql.fixedzone import fixed_offset_us, rewrite_fixed_zone
from hexmesh.product.sql.rewrite import parse
from hexmesh.product.sql.zoneoffsets import ALWAYS, congruent_since
from tests.product.sql.conftest import Loop, Port, write_product
from tests.product.sql.test_semantics import answers

INSTANTS_SPEC = """
domain: lab
name: instants
version: 1.0.0
owner: lab@example.com
description: Instants on the edges of days, weeks and daylight saving time.
inputPorts:
  - name: raw
    source: {format: csv, path: data}
transformation:
  sql: transform.sql
outputPorts:
  - name: instants
    properties:
      - {name: id, logicalType: integer, required: true}
      - {name: played_at, logicalType: timestamp}
      - {name: n, logicalType: integer}
"""
INSTANTS_SQL = (
    "select cast(id as bigint) as id, cast(played_at as timestamp) as played_at, cast(n as bigint) as n from raw\n"
)
#: Zones with daylight saving time, whose offsets are whole hours (Paris since 1911, New York since 1883),
#: or hours and a half (Adelaide), and one that moves by half an hour (Lord Howe: its hours are the engine's).
DST_ZONES = [
    "Europe/Paris",
    "America/New_York",
    "Australia/Adelaide",
    "Europe/Dublin",
    pytest.param(
        "Australia/Lord_Howe",
        marks=pytest.mark.xfail(strict=True, reason="the engine's date_trunc('hour') in the hour DST repeats"),
    ),
]
#: Both DST edges of each, the last microseconds before them. (Until 1911, Paris Mean Time was +00:09:21:
#: the port shows such an instant 21 s off, with or without the arithmetic, a difference of its own.)
DST_EDGES = [
    "2026-03-08 06:59:59.999999", "2026-03-08 07:30:00", "2026-11-01 05:59:59.999999", "2026-11-01 06:30:00",  # NY
    "2026-04-04 16:29:59.999999", "2026-04-04 16:45:00", "2026-10-03 16:29:59", "2026-10-03 16:45:00",  # Adelaide
    "2026-04-04 14:59:59", "2026-04-04 15:00:00", "2026-10-03 15:20:00.25", "2026-10-03 15:45:00",  # Lord Howe
    "2026-10-25 00:30:00", "2026-10-25 01:30:00",  # Paris and Dublin: each pass of the repeated hour
]  # fmt: skip


#: UTC. Paris moves to summer time at 2026-03-29 01:00 UTC and back at 2026-10-25 01:00 UTC.
INSTANTS = [
    "1960-06-15 12:34:56.789012",
    "1969-12-31 23:30:00",
    "1970-01-01 00:00:00",
    "2026-01-04 23:59:59.999999",  # a Sunday's last microsecond in UTC
    "2026-01-05 00:00:00",
    "2026-03-28 23:30:00",
    "2026-03-29 00:59:59.999999",
    "2026-03-29 01:00:00",
    "2026-03-29 01:30:00",
    "2026-03-29 22:15:00",
    "2026-10-24 22:30:00",
    "2026-10-25 00:59:59",
    "2026-10-25 01:00:00",
    "2026-10-25 01:45:00",
    "2026-10-25 23:00:00",
    "2026-12-31 18:29:59",  # +05:30: the last second of the year
    "2026-12-31 18:30:00",  # +05:30: the first of the next
    "2027-01-01 06:59:59",  # -7: still 2026
    "",
    *DST_EDGES,
]
STATEMENTS = [
    "select id, date_trunc('day', played_at), date_trunc('hour', played_at), date_trunc('minute', played_at), "
    "date_trunc('second', played_at), date_trunc('week', played_at) from lab.instants__instants order by id",
    "select id, extract(hour from played_at), extract(minute from played_at), extract(dow from played_at), "
    "played_at::date, cast(played_at as date) from lab.instants__instants order by id",
    "select date_trunc('day', played_at) as day, count(*), sum(n) from lab.instants__instants group by 1 order by 1",
    "select extract(hour from i.played_at) as hour, count(*) from lab.instants__instants i group by 1 order by 1",
    "with w as (select played_at from lab.instants__instants) "
    "select played_at::date, count(*) from w group by 1 order by 1",
]
ZONES = ["'UTC'", "-7", "5.5", "'Europe/Paris'", "'America/New_York'"]


@pytest.fixture(scope="module")
def instants(tmp_path_factory: pytest.TempPathFactory, loop: Loop) -> Iterator[Port]:
    root = tmp_path_factory.mktemp("instants")
    rows = "\n".join(f"{i},{played_at},{i * 10}" for i, played_at in enumerate(INSTANTS, start=1))
    folder = write_product(root / "instants", INSTANTS_SPEC, INSTANTS_SQL, "id,played_at,n\n" + rows + "\n")
    workspace = Workspace(Settings.defaults(root / "ws"))
    workspace.deploy([folder])
    workspace.run("lab/instants")
    port = Port(loop.run(start_sql_port(workspace, "127.0.0.1", 0)), loop.loop, [])
    yield port
    loop.run(port.server.close())
    workspace.close()


@pytest.fixture(scope="module")
def oracle(instants: Port) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """PostgreSQL holding the rows the port serves."""
    name = f"hexmesh_zone_{uuid.uuid4().hex[:8]}"
    admin_dsn = "host=127.0.0.1 user=postgres dbname=postgres"
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f"create database {name}")
    try:
        with psycopg.connect(instants.dsn(), autocommit=True) as port:
            rows = port.execute("select * from lab.instants__instants").fetchall()
        with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={name}", autocommit=True) as con:
            con.execute("create schema lab")
            con.execute("create table lab.instants__instants (id bigint, played_at timestamptz, n bigint)")
            with con.cursor() as cur:
                cur.executemany("insert into lab.instants__instants values (%s, %s, %s)", rows)
            yield con
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(f"drop database {name} with (force)")


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("statement", STATEMENTS)
def test_local_days_and_hours_answer_as_postgresql(
    instants: Port, oracle: psycopg.Connection[tuple[object, ...]], zone: str, statement: str
) -> None:
    with psycopg.connect(instants.dsn(), autocommit=True) as port:
        port.execute(f"SET TIME ZONE {zone}")
        oracle.execute(f"SET TIME ZONE {zone}")
        got = answers(port, statement)
    want = answers(oracle, statement)
    oracle.execute("RESET ALL")
    assert got == want


def test_the_hour_of_a_repeated_local_hour_keeps_its_offset(instants: Port) -> None:
    # 2026-10-25 00:59:59 UTC is 02:59:59+02 in Paris, 01:45 UTC is 02:45+01: the hour 02:00-03:00 comes
    # twice that night, and each pass truncates to its own 02:00 (the engine's function gave +01 to both).
    statement = (
        "select date_trunc('hour', played_at)::text from lab.instants__instants where id in (12, 14) order by id"
    )
    with psycopg.connect(instants.dsn(), autocommit=True) as port:
        port.execute("SET TIME ZONE 'Europe/Paris'")
        assert port.execute(statement).fetchall() == [("2026-10-25 02:00:00+02",), ("2026-10-25 02:00:00+01",)]


@pytest.mark.parametrize("zone", DST_ZONES)
def test_truncating_to_an_hour_or_less_across_dst_edges_answers_as_postgresql(
    instants: Port, oracle: psycopg.Connection[tuple[object, ...]], zone: str
) -> None:
    columns = ", ".join(f"date_trunc('{u}', played_at)::text" for u in ("hour", "minute", "second", "day"))
    statement = f"select id, {columns} from lab.instants__instants order by id"
    with psycopg.connect(instants.dsn(), autocommit=True) as port:
        port.execute(f"SET TIME ZONE '{zone}'")
        oracle.execute(f"SET TIME ZONE '{zone}'")
        got = port.execute(statement).fetchall()
    want = oracle.execute(statement).fetchall()
    oracle.execute("RESET ALL")
    assert got == want


@pytest.mark.parametrize(
    ("zone", "offset"),
    [("UTC", 0), ("<-07>+07", -7 * 3600 * 10**6), ("<+0530>-0530", 5 * 3600 * 10**6 + 30 * 60 * 10**6)],
)
def test_fixed_offsets_are_read_from_the_canonical_setting(zone: str, offset: int) -> None:
    assert fixed_offset_us(zone) == offset


@pytest.mark.parametrize("zone", ["Europe/Paris", "Asia/Kolkata", "America/New_York", "<+01>-01<+02>,M3.5.0,M10.5.0"])
def test_named_zones_keep_the_engines_zone_aware_functions(zone: str) -> None:
    assert fixed_offset_us(zone) is None


@dataclass
class _Shape:
    """What the rewrite reads of a port table: its Arrow schema."""

    arrow_schema: pa.Schema


_PLAYS = cast(
    PortTable, _Shape(pa.schema([("played_at", pa.timestamp("us", tz="UTC")), ("local", pa.timestamp("us"))]))
)


def _rewritten(sql: str, redefined: frozenset[str] = frozenset(), zone: str = "UTC") -> str:
    tree = parse(sql)
    rewrite_fixed_zone(tree, [_PLAYS], redefined, zone)
    return tree.sql(dialect="duckdb")


def test_only_columns_surely_of_an_instant_type_become_arithmetic() -> None:
    assert "EPOCH_US(played_at)" in _rewritten(
        "select date_trunc('day', played_at), extract(hour from played_at) from plays"
    )
    # A time without a zone is computed as written, in no zone.
    assert "EPOCH_US" not in _rewritten("select date_trunc('day', local), local::date from plays")
    # Something else named like the column: its type is not the port's.
    assert "EPOCH_US" not in _rewritten(
        "select date_trunc('day', played_at) from (select local as played_at from plays) s"
    )
    assert "EPOCH_US" not in _rewritten("select date_trunc('day', played_at) from plays", frozenset({"played_at"}))
    # A catalog relation or a table function in the statement: column types are not known without binding.
    assert "EPOCH_US" not in _rewritten("select date_trunc('day', played_at) from plays, pg_class")
    # Units whose length varies (months) keep the engine's function.
    assert "EPOCH_US" not in _rewritten("select date_trunc('month', played_at), extract(day from played_at) from plays")


def test_a_named_zone_truncates_instants_only_from_when_its_offsets_are_multiples_of_the_unit() -> None:
    statement = "select date_trunc('hour', played_at), date_trunc('second', played_at) from plays"
    paris = _rewritten(statement, zone="Europe/Paris")
    # Paris Mean Time (+00:09:21) ended at 1911-03-10 23:50:39 UTC: before, the engine's function answers.
    # (from the next hour on: the hour its last instant was in began before it)
    assert paris.count("EPOCH_US(played_at) >= -1855955361000000") == 1
    assert paris.count("MAKE_TIMESTAMPTZ") == 2  # every offset was ever a whole number of seconds
    assert congruent_since("Europe/Paris", 3600) == (-1855958961000000, 0)
    adelaide, kolkata = congruent_since("Australia/Adelaide", 3600), congruent_since("Asia/Kolkata", 3600)
    assert adelaide is not None and adelaide[1] == 1800  # +09:30 and +10:30: hours start at hh:30 UTC
    assert kolkata is not None and kolkata[1] == 1800  # +05:30
    assert congruent_since("Australia/Lord_Howe", 3600) is None  # +10:30, and +11:00 in summer
    assert congruent_since("UTC", 3600) == (ALWAYS, 0)
    assert congruent_since("Mars/Olympus_Mons", 1) is None
    # Days, weeks and extract() in such a zone keep the engine's functions.
    assert "EPOCH_US" not in _rewritten(
        "select date_trunc('day', played_at), extract(hour from played_at), played_at::date from plays",
        zone="Europe/Paris",
    )
    assert "EPOCH_US" not in _rewritten("select date_trunc('hour', played_at) from plays", zone="Australia/Lord_Howe")


def test_infinite_instants_keep_the_engines_answer() -> None:
    # psycopg cannot read an infinite timestamptz, so this is the engine's answer to the SQL the port runs.
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("create table plays (played_at timestamptz, local timestamp)")
        con.execute("insert into plays values ('infinity', null), ('-infinity', null), (null, null)")
        sql = _rewritten(
            "select date_trunc('day', played_at)::text, played_at::date::text, extract(hour from played_at) from plays"
        )
        assert con.execute(sql).fetchall() == [
            ("infinity", "infinity", None),
            ("-infinity", "-infinity", None),
            (None, None, None),
        ]
