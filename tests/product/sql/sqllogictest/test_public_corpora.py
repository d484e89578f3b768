"""Two more public sqllogictest corpora through the SQL port (issue 16): DuckDB's own test suite
(read-only SELECT semantics: outer joins, numeric types, string functions, EXISTS/ANY/ALL
subqueries) and the PostgreSQL files of sqllogictest-rs (SOURCES.md).

DuckDB's answers are DuckDB's, not PostgreSQL's, so many of its records cannot pass on a port that
speaks PostgreSQL (``[1, 2]`` is ``{1,2}``, ``list_value`` does not exist, DuckDB's SQL is not
PostgreSQL's). What each query did is recorded in ``known.tsv`` (script, line, outcome, the
port's error or the first row it answered); this test fails when a query that passed, or that
is not listed, stops passing, so the pass rate only goes up. ``python -m
tests.product.sql.sqllogictest.report`` prints the pass rate by category and rewrites
``known.tsv``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.product.sql.conftest import Loop
from tests.product.sql.sqllogictest.harness import Outcome, served
from tests.product.sql.sqllogictest.report import KNOWN, category, known, public_scripts


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory, loop: Loop) -> Iterator[list[Outcome]]:
    with served(public_scripts(), tmp_path_factory.mktemp("public-slt"), loop) as answered:
        yield answered


def test_the_corpora_are_here() -> None:
    scripts = public_scripts()
    assert len([k for k in scripts if k.startswith("d_")]) == 135
    assert {k for k in scripts if k.startswith("rs_")} == {"rs_postgres_simple_test", "rs_postgres_extended_test"}
    assert sum(len(s.queries) for s in scripts.values()) == 2510


@pytest.mark.timeout(1800)  # the module's queries run in the fixture this test asks for first
def test_no_query_that_passed_fails(outcomes: list[Outcome]) -> None:
    listed = known()
    failing = {o.key: o for o in outcomes if not o.passed and o.category != "skipped"}
    regressed = {k: (o.category, o.error or o.got, o.query.sql) for k, o in failing.items() if k not in listed}
    assert regressed == {}, f"{len(regressed)} queries fail that {KNOWN.name} does not list"
    # What a user relies on from the PostgreSQL files: plain queries over a table answer as PostgreSQL does.
    simple = [o for o in outcomes if o.script == "rs_postgres_simple_test"]
    assert [o.passed for o in simple] == [True, True]
    # Every PostgreSQL type of postgres_extended, arrays included, prints as PostgreSQL prints it but two:
    # an array of numerics without a typmod (one scale for every element: 2.0000, 3.0123) and timestamptz, which the
    # script expects in its own server's zone (-05) where the port's session is in UTC (the same instants).
    extended = {o.query.line for o in outcomes if o.script == "rs_postgres_extended_test" and not o.passed}
    assert extended == {60, 90}
    by_category = {category(o) for o in outcomes if o.passed}
    assert {"function/string", "types/numeric", "subquery/exists", "subquery/any_all", "join/left_outer"} <= by_category
