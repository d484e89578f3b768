"""The engine's numeric quotient (sql/quotient.py) against PostgreSQL's, over many operand pairs.

Each pair is a ``numeric(p, s)`` of its own precision, scale and magnitude (quotients whose first
4-digit group lies from 9 groups below the point to 9 above, ties of first groups, powers of
10000, zeros, negatives); PostgreSQL divides the same literals in one statement.
"""

from __future__ import annotations

import random
from decimal import Decimal

import duckdb
import psycopg
import pytest

from hexmesh.product.sql.quotient import MACROS, shown_batch, shown_schema


def _operand(rng: random.Random) -> tuple[str, int, int]:
    """A numeric literal and its (precision, scale)."""
    scale = rng.choice([0, 0, 1, 2, 2, 3, 4, 6, 8, 10, 12])
    digits = rng.randint(1, 18 - scale) + scale
    kind = rng.random()
    if kind < 0.1:
        unscaled = 10 ** rng.randint(0, digits - 1)  # a power of ten: first groups of 1, 10, 100, 1000
    elif kind < 0.2:
        unscaled = rng.choice([1, 2, 3, 9999, 10000, 99999999, 100000000]) * 10**scale
    else:
        unscaled = rng.randint(1, 10**digits - 1)
    unscaled = min(unscaled, 10**18 - 1)
    sign = "-" if rng.random() < 0.2 else ""
    text = str(Decimal(f"{sign}{unscaled}").scaleb(-scale))
    return text, rng.choice([18, 18, 18, 38]), scale  # wider than 18 digits: the 128-bit paths


def _pairs(count: int) -> list[tuple[str, str]]:
    rng = random.Random(16)
    pairs = []
    for _ in range(count):
        (a, p1, s1), (b, p2, s2) = _operand(rng), _operand(rng)
        left = f"CAST('{a}' AS DECIMAL({p1}, {s1}))" if rng.random() > 0.05 else f"CAST(0 AS DECIMAL({p1}, {s1}))"
        pairs.append((left, f"CAST('{b}' AS DECIMAL({p2}, {s2}))"))
    return pairs


@pytest.fixture(scope="module")
def engine() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"integer_division": True})
    for macro in MACROS:
        con.execute(f"CREATE MACRO {macro}")
    return con


def _shown(engine: duckdb.DuckDBPyConnection, sql: str) -> list[str | None]:
    table = engine.sql(sql).to_arrow_table()
    schema = shown_schema(table.schema)
    batch = shown_batch(table.combine_chunks().to_batches()[0]).cast(schema)
    return [None if v is None else str(v) for v in batch.column(0).to_pylist()]


def test_quotients_of_many_numeric_pairs_are_postgresql_text(engine: duckdb.DuckDBPyConnection) -> None:
    pairs = _pairs(250)
    # One statement per pair: a column has one scale in the engine, as a numeric(p,s) column's values
    # all have scale s in PostgreSQL (a VALUES list would unify the pairs' types).
    got = [_shown(engine, f"SELECT hexmesh_shown_quotient(a, b) FROM (VALUES ({a}, {b})) v(a, b)")[0] for a, b in pairs]
    values = ", ".join(f"({a}, {b})" for a, b in pairs)
    pg_values = values.replace("DECIMAL", "numeric")
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as pg:
        want = [str(row[0]) for row in pg.execute(f"SELECT (a / b)::text FROM (VALUES {pg_values}) v(a, b)").fetchall()]
    wrong = [(pair, g, w) for pair, g, w in zip(pairs, got, want, strict=True) if g != w]
    assert not wrong, "\n".join(map(str, wrong[:8]))


def _literal(cast: str) -> tuple[int, int]:
    """The unscaled integer and scale of ``CAST('12.34' AS DECIMAL(18, 2))``."""
    text = cast.split("'")[1] if "'" in cast else "0"
    scale = int(cast.rsplit(",", 1)[1].rstrip(")"))
    return int(Decimal(text).scaleb(scale)), scale


def test_averages_of_many_groups_are_postgresql_text(engine: duckdb.DuckDBPyConnection) -> None:
    rng = random.Random(42)
    rows = [(g, _operand(rng)[0]) for g in range(40) for _ in range(rng.randint(1, 7))]
    values = ", ".join(f"({g}, CAST('{x}' AS DECIMAL(30, 12)))" for g, x in rows)
    sql = f"SELECT hexmesh_shown_avg(x) FROM (VALUES {values}) v(g, x) GROUP BY g ORDER BY g"
    got = _shown(engine, sql)
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as pg:
        pg_values = values.replace("DECIMAL", "numeric")
        pg_sql = f"SELECT avg(x)::text FROM (VALUES {pg_values}) v(g, x) GROUP BY g ORDER BY g"
        want = [str(row[0]) for row in pg.execute(pg_sql).fetchall()]
    assert got == want


def test_a_quotient_past_two_steps_of_128_bits_shows_the_engines_double(engine: duckdb.DuckDBPyConnection) -> None:
    # 10^36 / 3 at 12 decimals has 48 digits: more than a HUGEINT holds.
    a, b = "CAST('1' || repeat('0', 36) AS DECIMAL(38, 0))", "CAST('3.000000000000' AS DECIMAL(18, 12))"
    got = _shown(engine, f"SELECT hexmesh_shown_quotient(a, b) FROM (SELECT {a} AS a, {b} AS b)")
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as pg:
        want = pg.execute(f"SELECT ({a} / {b})::text".replace("DECIMAL", "numeric")).fetchone()
    assert want == ("333333333333333333333333333333333333.333333333333",)
    assert got == [str(1e36 / 3)]
